#pragma once
// The bytes both sides of the interop test exchange; interop_peer.py computes the same ones.
#include <cstddef>
#include <string>

namespace usock_interop {

/// Byte i of the pattern: (31 i + i / 512) mod 256. Never constant, and different at every offset of a block.
inline char pattern_byte(std::size_t i) { return static_cast<char>((i * 31 + (i >> 9)) & 0xff); }

inline std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = pattern_byte(i);
  return s;
}

}  // namespace usock_interop
