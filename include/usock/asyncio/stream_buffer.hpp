#pragma once
/// \file
/// The byte blocks a stream keeps: the read-ahead block of `readline` (and what a cancelled or failed read puts
/// back), and the bounded write queue. Each is allocated once per stream when first needed, or given by the
/// user (`set_read_buffer`, `set_write_buffer`) for a build with no heap; never per message.

#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <string_view>

#include "../buffer.hpp"

namespace usock::asyncio::detail {

/// Bytes in `[begin_, end_)` of a block.
class byte_queue {
 public:
  byte_queue() noexcept = default;
  byte_queue(byte_queue&& other) noexcept { take_from(other); }
  byte_queue& operator=(byte_queue&& other) noexcept {
    if (this != &other) {
      release();
      take_from(other);
    }
    return *this;
  }
  ~byte_queue() { release(); }

  /// Uses `storage` (the caller's) from now on; the bytes queued are kept if they fit. False if they do not.
  bool use(std::span<std::byte> storage) noexcept {
    if (storage.size() < size()) return false;
    if (size() != 0) std::memmove(storage.data(), data_ + begin_, size());
    const std::size_t n = size();
    release();
    data_ = storage.data();
    capacity_ = storage.size();
    begin_ = 0;
    end_ = n;
    return true;
  }
  /// Makes sure there is a block: the caller's (`use`, whatever its size), or one of at least `capacity` bytes
  /// (allocating one if there is none). False when the allocation failed (always, with no block given, on a
  /// build with `USOCK_ASYNCIO_NO_HEAP`).
  bool reserve(std::size_t capacity) noexcept {
    if (data_ && (!owned_ || capacity_ >= capacity)) return true;
    auto* block = allocate(capacity);
    if (!block) return false;
    if (size() != 0) std::memcpy(block, data_ + begin_, size());
    const std::size_t n = size();
    release();
    data_ = block;
    set_owned(true);
    capacity_ = capacity;
    begin_ = 0;
    end_ = n;
    return true;
  }

  std::size_t size() const noexcept { return end_ - begin_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return begin_ == end_; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data_) + begin_, size()}; }
  const_bytes bytes() const noexcept { return {data_ + begin_, size()}; }

  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  std::size_t take(mutable_bytes out) noexcept {
    const std::size_t n = out.size() < size() ? out.size() : size();
    if (n != 0) std::memcpy(out.data(), data_ + begin_, n);
    consume(n);
    return n;
  }
  /// The free tail; compacts first.
  mutable_bytes free_space() noexcept {
    if (begin_ != 0) {
      std::memmove(data_, data_ + begin_, size());
      end_ -= begin_;
      begin_ = 0;
    }
    return {data_ + end_, capacity_ - end_};
  }
  void commit(std::size_t n) noexcept { end_ += n; }
  /// Appends up to the free room; returns how much it took.
  std::size_t append(const_bytes in) noexcept {
    mutable_bytes room = free_space();
    const std::size_t n = in.size() < room.size() ? in.size() : room.size();
    if (n != 0) std::memcpy(room.data(), in.data(), n);
    end_ += n;
    return n;
  }
  /// Puts `in` back in front. False if there is no room (an owned block grows to make it).
  bool unread(const_bytes in) noexcept {
    if (in.empty()) return true;
    if (in.size() > begin_) {
      const std::size_t n = size();
      if (in.size() + n > capacity_) {
        if (data_ && !owned_) return false;
        if (!regrow(in.size() + n)) return false;  // leaves the queued bytes at the end of the block
      } else {
        std::memmove(data_ + capacity_ - n, data_ + begin_, n);
        begin_ = capacity_ - n;
        end_ = capacity_;
      }
    }
    begin_ -= in.size();
    std::memcpy(data_ + begin_, in.data(), in.size());
    return true;
  }

 private:
  // The heap, unless the build has none (then only the caller's blocks are used).
  static std::byte* allocate(std::size_t capacity) noexcept {
#ifdef USOCK_ASYNCIO_NO_HEAP
    (void)capacity;
    return nullptr;
#else
    return new (std::nothrow) std::byte[capacity];
#endif
  }
  bool regrow(std::size_t capacity) noexcept {
    const std::size_t n = size();
    auto* block = allocate(capacity);
    if (!block) return false;
    if (n != 0) std::memcpy(block + capacity - n, data_ + begin_, n);
    release();
    data_ = block;
    set_owned(true);
    capacity_ = capacity;
    begin_ = capacity - n;
    end_ = capacity;
    return true;
  }
  void release() noexcept {
#ifndef USOCK_ASYNCIO_NO_HEAP
    if (owned_) delete[] data_;
#endif
    data_ = nullptr;
    set_owned(false);
    capacity_ = begin_ = end_ = 0;
  }
  void take_from(byte_queue& o) noexcept {
    data_ = o.data_;
    capacity_ = o.capacity_;
    begin_ = o.begin_;
    end_ = o.end_;
    set_owned(o.owned_);
    o.data_ = nullptr;
    o.set_owned(false);
    o.capacity_ = o.begin_ = o.end_ = 0;
  }

  std::byte* data_ = nullptr;
  std::size_t capacity_ = 0, begin_ = 0, end_ = 0;
  // Whether the block came from the heap (and is freed here). A build with no heap has only the caller's blocks:
  // then it is a constant, and the code for owned blocks goes.
#ifdef USOCK_ASYNCIO_NO_HEAP
  static constexpr bool owned_ = false;
  void set_owned(bool) noexcept {}
#else
  bool owned_ = false;
  void set_owned(bool on) noexcept { owned_ = on; }
#endif
};

}  // namespace usock::asyncio::detail
