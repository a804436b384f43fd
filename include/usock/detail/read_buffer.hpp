#pragma once
/// \file
/// The block a socket reads ahead into for `readline()`, allocated only when `readline()` is first called.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

#include "../buffer.hpp"

#ifndef USOCK_READ_BUFFER_SIZE
/// Bytes `readline()` asks the stack for at a time; the block is allocated on the first `readline()`.
#define USOCK_READ_BUFFER_SIZE 8192
#endif

namespace usock::detail {

/// Unread bytes in `[begin_, end_)` of a heap block. Grows only when a throwing read puts back more than fits.
class read_buffer {
 public:
  /// False when the block could not be allocated.
  bool allocated() const noexcept { return data_ != nullptr; }
  std::size_t size() const noexcept { return end_ - begin_; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data_.get()) + begin_, size()}; }

  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  /// Moves up to `out.size()` buffered bytes into `out`.
  std::size_t take(mutable_bytes out) noexcept {
    const std::size_t n = std::min(out.size(), size());
    if (n != 0) std::memcpy(out.data(), data_.get() + begin_, n);
    consume(n);
    return n;
  }
  /// The free tail to receive into; compacts first so it is never empty.
  mutable_bytes free_space() noexcept {
    if (end_ == capacity_ && begin_ != 0) {
      std::memmove(data_.get(), data_.get() + begin_, size());
      end_ -= begin_;
      begin_ = 0;
    }
    return {data_.get() + end_, capacity_ - end_};
  }
  void commit(std::size_t n) noexcept { end_ += n; }

  /// Puts `data` in front of the buffered bytes (throwing reads use this so an error loses nothing).
  void unread(const_bytes data) {
    if (data.size() <= begin_) {
      begin_ -= data.size();
    } else {
      const std::size_t new_capacity = std::max(capacity_, data.size() + size());
      auto bigger = std::make_unique<std::byte[]>(new_capacity);
      if (size() != 0) std::memcpy(bigger.get() + data.size(), data_.get() + begin_, size());
      end_ = data.size() + size();
      begin_ = 0;
      data_ = std::move(bigger);
      capacity_ = new_capacity;
    }
    std::memcpy(data_.get() + begin_, data.data(), data.size());
  }

 private:
  std::size_t capacity_ = USOCK_READ_BUFFER_SIZE;
  std::unique_ptr<std::byte[]> data_{new (std::nothrow) std::byte[USOCK_READ_BUFFER_SIZE]};
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace usock::detail
