#pragma once
/// \file
/// The block a socket reads ahead into for `readline()`, allocated only when `readline()` is first called.

#include <cstddef>
#include <cstring>
#include <new>
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
  read_buffer(const read_buffer&) = delete;
  read_buffer& operator=(const read_buffer&) = delete;

  /// A new buffer with its block, or null when the heap has no room for them. Free it with `destroy`.
  static read_buffer* create() noexcept {
    auto* b = new (std::nothrow) read_buffer;
    if (b && !b->data_) {
      delete b;
      return nullptr;
    }
    if (b) b->free_ = [](read_buffer* self) noexcept { delete self; };
    return b;
  }
  /// Frees a buffer from `create` (null: nothing). It calls the function `create` stored, so that a program
  /// which never creates one (never calls `readline`) refers to no `operator delete`: on newlib that alone
  /// links the whole heap allocator into a firmware image.
  static void destroy(read_buffer* b) noexcept {
    if (b) b->free_(b);
  }

  std::size_t size() const noexcept { return end_ - begin_; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data_) + begin_, size()}; }

  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  /// Moves up to `out.size()` buffered bytes into `out`.
  std::size_t take(mutable_bytes out) noexcept {
    const std::size_t n = out.size() < size() ? out.size() : size();
    if (n != 0) std::memcpy(out.data(), data_ + begin_, n);
    consume(n);
    return n;
  }
  /// The free tail to receive into; compacts first so it is never empty.
  mutable_bytes free_space() noexcept {
    if (end_ == capacity_ && begin_ != 0) {
      std::memmove(data_, data_ + begin_, size());
      end_ -= begin_;
      begin_ = 0;
    }
    return {data_ + end_, capacity_ - end_};
  }
  void commit(std::size_t n) noexcept { end_ += n; }

  /// Puts `data` in front of the buffered bytes (throwing reads use this so an error loses nothing).
  void unread(const_bytes data) {
    if (data.size() <= begin_) {
      begin_ -= data.size();
    } else {
      const std::size_t needed = data.size() + size();
      const std::size_t new_capacity = needed > capacity_ ? needed : capacity_;
      auto* bigger = new std::byte[new_capacity];
      if (size() != 0) std::memcpy(bigger + data.size(), data_ + begin_, size());
      end_ = needed;
      begin_ = 0;
      delete[] data_;
      data_ = bigger;
      capacity_ = new_capacity;
    }
    std::memcpy(data_ + begin_, data.data(), data.size());
  }

 private:
  read_buffer() noexcept = default;
  ~read_buffer() { delete[] data_; }

  void (*free_)(read_buffer*) noexcept = nullptr;
  std::size_t capacity_ = USOCK_READ_BUFFER_SIZE;
  std::byte* data_ = new (std::nothrow) std::byte[USOCK_READ_BUFFER_SIZE];
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace usock::detail
