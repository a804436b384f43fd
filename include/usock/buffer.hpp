#pragma once
/// \file
/// The byte views that every send and receive call takes, so one signature accepts `"text"`, `std::string`,
/// `std::vector<std::byte>`, `std::array<std::uint8_t, N>`, C arrays and spans alike.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace usock {

namespace detail {
template <class T>
concept byte_like = std::same_as<T, std::byte> || std::same_as<T, char> || std::same_as<T, unsigned char> ||
                    std::same_as<T, signed char>;

/// The element type of a range with `std::data`, const included: `const char` for a `const std::string`.
template <class R>
using element_t = std::remove_reference_t<decltype(*std::data(std::declval<R&>()))>;

/// A contiguous, sized range of bytes. `std::span` decides contiguity, so this needs no `<ranges>`.
template <class R>
concept contiguous_byte_range =
    requires(R& r) {
      std::data(r);
      std::size(r);
    } && byte_like<std::remove_cv_t<element_t<R>>> && std::is_constructible_v<std::span<element_t<R>>, R&>;

template <class R>
concept writable_byte_range = contiguous_byte_range<R> && !std::is_const_v<element_t<R>>;
}  // namespace detail

/// Bytes to send: a read-only view. Built implicitly from
/// - `std::string_view`, `std::string` and `const char*` (text: `s.send("hello\n")` sends 6 bytes);
/// - a `char` array, which counts up to its first NUL or its whole length (a literal never sends its NUL);
/// - any contiguous range of `std::byte`, `char`, `unsigned char`/`std::uint8_t` or `signed char`.
class const_bytes {
 public:
  constexpr const_bytes() noexcept = default;
  constexpr const_bytes(const std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
  const_bytes(std::string_view text) noexcept  // NOLINT: implicit by design
      : data_(reinterpret_cast<const std::byte*>(text.data())), size_(text.size()) {}
  const_bytes(const std::string& text) noexcept : const_bytes(std::string_view(text)) {}  // NOLINT
  /// A NUL-terminated C string (a pointer, not an array: arrays take the bounded overload below).
  template <class P>
    requires std::same_as<std::remove_cvref_t<P>, const char*> || std::same_as<std::remove_cvref_t<P>, char*>
  const_bytes(P&& text) noexcept  // NOLINT
      : const_bytes(std::string_view(text)) {}
  template <std::size_t N>
  const_bytes(const char (&text)[N]) noexcept  // NOLINT
      : data_(reinterpret_cast<const std::byte*>(text)), size_(bounded_length(text, N)) {}
  template <class R>
    requires detail::contiguous_byte_range<R> && (!std::is_array_v<std::remove_cvref_t<R>> ||
                                                  !std::same_as<std::remove_cv_t<detail::element_t<R>>, char>) &&
             (!std::convertible_to<R, std::string_view>)
  const_bytes(R&& range) noexcept  // NOLINT
      : data_(reinterpret_cast<const std::byte*>(std::data(range))), size_(std::size(range) * sizeof(*std::data(range))) {}

  constexpr const std::byte* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  /// The bytes after the first `n`.
  constexpr const_bytes subspan(std::size_t n) const noexcept { return {data_ + n, size_ - n}; }
  constexpr const_bytes first(std::size_t n) const noexcept { return {data_, n}; }

 private:
  static std::size_t bounded_length(const char* text, std::size_t n) noexcept {
    const char* nul = std::char_traits<char>::find(text, n, '\0');
    return nul ? static_cast<std::size_t>(nul - text) : n;
  }

  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

/// A buffer to receive into: a writable view. Built implicitly from any contiguous range of writable
/// `std::byte`, `char`, `unsigned char`/`std::uint8_t` or `signed char`: `std::array`, `std::vector`,
/// `std::string`, C arrays and spans.
class mutable_bytes {
 public:
  constexpr mutable_bytes() noexcept = default;
  constexpr mutable_bytes(std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
  template <class R>
    requires detail::writable_byte_range<R>
  mutable_bytes(R&& range) noexcept  // NOLINT: implicit by design
      : data_(reinterpret_cast<std::byte*>(std::data(range))), size_(std::size(range) * sizeof(*std::data(range))) {}

  constexpr std::byte* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr mutable_bytes subspan(std::size_t n) const noexcept { return {data_ + n, size_ - n}; }
  constexpr mutable_bytes first(std::size_t n) const noexcept { return {data_, n}; }
  constexpr operator const_bytes() const noexcept { return {data_, size_}; }  // NOLINT

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace usock
