#pragma once
/// \file
/// Where coroutine frames come from: `usock::asyncio::frame_arena` over a fixed buffer, or the heap.
///
/// A frame is allocated when a coroutine is called, which may be before any loop runs (`run(main())` calls
/// `main()` first), so the arena in use is a per-thread setting: `arena_scope` installs one for as long as it
/// lives. With none installed, frames come from the global heap (`new (std::nothrow)`), unless
/// `USOCK_ASYNCIO_NO_HEAP` is defined: then a frame needs an arena. Either way an allocation that fails makes the
/// coroutine call return an empty task, which `create_task` reports as `not_enough_memory`: never a crash.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>

#include "config.hpp"

namespace usock::asyncio {

/// Frames carved from a caller's buffer, with a free list per power-of-two size class (64 bytes to 64 KiB, and
/// one class per larger power): a freed frame is reused by the next frame of its class, so a server whose
/// connection tasks come and go reaches a steady state. Not thread-safe: one arena per thread (per loop).
class frame_arena {
 public:
  /// An arena over `buffer`, which must outlive it and every frame taken from it.
  explicit frame_arena(std::span<std::byte> buffer) noexcept
      : begin_(align_up(buffer.data())), end_(buffer.data() + buffer.size()), next_(begin_) {
    if (begin_ > end_) begin_ = next_ = end_;
  }
  frame_arena(const frame_arena&) = delete;
  frame_arena& operator=(const frame_arena&) = delete;

  /// A block of at least `size` bytes, aligned for any frame; nullptr when the arena is exhausted.
  void* allocate(std::size_t size) noexcept {
    last_request_ = size;
    const unsigned cls = class_of(size);
    if (cls >= classes) return nullptr;
    void* p = nullptr;
    if (free_[cls]) {
      p = free_[cls];
      free_[cls] = free_[cls]->next;
    } else {
      const std::size_t bytes = class_size(cls);
      if (static_cast<std::size_t>(end_ - next_) < bytes) return ++failures_, nullptr;
      p = next_;
      next_ += bytes;
      const auto used = static_cast<std::size_t>(next_ - begin_);
      if (used > high_water_) high_water_ = used;
    }
    in_use_ += class_size(cls);
    return p;
  }
  /// Returns a block taken with `allocate(size)`.
  void deallocate(void* p, std::size_t size) noexcept {
    const unsigned cls = class_of(size);
    auto* node = static_cast<free_node*>(p);
    node->next = free_[cls];
    free_[cls] = node;
    in_use_ -= class_size(cls);
  }

  /// Bytes of the buffer ever carved into blocks: the most the arena has needed at once (its high-water mark).
  std::size_t high_water() const noexcept { return high_water_; }
  /// Bytes in blocks handed out now (rounded up to their size class).
  std::size_t in_use() const noexcept { return in_use_; }
  /// Usable bytes of the buffer.
  std::size_t capacity() const noexcept { return static_cast<std::size_t>(end_ - begin_); }
  /// The size of the last block asked for: a frame's size plus a 16-byte header (print it after calling a
  /// coroutine to learn its frame size).
  std::size_t last_request() const noexcept { return last_request_; }
  /// How many allocations failed for want of room.
  std::size_t failures() const noexcept { return failures_; }
  /// The block size a frame of `size` bytes takes.
  static constexpr std::size_t block_size(std::size_t size) noexcept { return class_size(class_of(size)); }

 private:
  struct free_node {
    free_node* next;
  };
  static constexpr std::size_t alignment = alignof(std::max_align_t);
  static constexpr unsigned min_shift = 6;  // 64 bytes
  static constexpr unsigned classes = 26;   // up to 2 GiB
  static std::byte* align_up(std::byte* p) noexcept {
    const auto v = reinterpret_cast<std::uintptr_t>(p);
    return p + ((alignment - v % alignment) % alignment);
  }
  /// The smallest class whose blocks hold `size` bytes, `classes` if none does.
  static constexpr unsigned class_of(std::size_t size) noexcept {
    if (size <= class_size(0)) return 0;
    const auto cls = static_cast<unsigned>(std::bit_width(size - 1)) - min_shift;
    return cls < classes ? cls : classes;
  }
  static constexpr std::size_t class_size(unsigned cls) noexcept { return std::size_t{1} << (cls + min_shift); }

  std::byte* begin_;
  std::byte* end_;
  std::byte* next_;
  free_node* free_[classes] = {};
  std::size_t high_water_ = 0, in_use_ = 0, failures_ = 0, last_request_ = 0;
};

/// A `frame_arena` that owns its buffer of `Bytes` bytes: `static asyncio::static_arena<16384> arena;`.
template <std::size_t Bytes>
class static_arena : public frame_arena {
 public:
  static_arena() noexcept : frame_arena(std::span<std::byte>(storage_, Bytes)) {}

 private:
  alignas(std::max_align_t) std::byte storage_[Bytes];
};

namespace detail {
inline frame_arena*& current_arena() noexcept {
  static USOCK_ASYNCIO_THREAD_LOCAL frame_arena* arena = nullptr;
  return arena;
}

/// Every frame starts with this header, so it is freed where it came from even if the arena in use changed.
struct alignas(std::max_align_t) frame_header {
  frame_arena* arena;  // nullptr: the heap
};

inline void* allocate_frame(std::size_t size) noexcept {
  const std::size_t total = size + sizeof(frame_header);
  frame_arena* arena = current_arena();
  void* block = nullptr;
  if (arena) {
    block = arena->allocate(total);
  } else {
#ifndef USOCK_ASYNCIO_NO_HEAP
    block = ::operator new(total, std::nothrow);
#endif
  }
  if (!block) return nullptr;
  auto* header = ::new (block) frame_header{arena};
  return header + 1;
}

inline void free_frame(void* frame, std::size_t size) noexcept {
  auto* header = static_cast<frame_header*>(frame) - 1;
#ifdef USOCK_ASYNCIO_NO_HEAP
  header->arena->deallocate(header, size + sizeof(frame_header));  // every frame came from an arena
#else
  if (header->arena) {
    header->arena->deallocate(header, size + sizeof(frame_header));
  } else {
    ::operator delete(header);
  }
#endif
}
}  // namespace detail

/// Installs `arena` as this thread's source of coroutine frames until destroyed, then restores the previous one.
/// Frames remember their arena, so one may outlive the scope that allocated it (not the arena itself).
class arena_scope {
 public:
  explicit arena_scope(frame_arena& arena) noexcept : previous_(detail::current_arena()) {
    detail::current_arena() = &arena;
  }
  arena_scope(const arena_scope&) = delete;
  arena_scope& operator=(const arena_scope&) = delete;
  ~arena_scope() { detail::current_arena() = previous_; }

 private:
  frame_arena* previous_;
};

}  // namespace usock::asyncio
