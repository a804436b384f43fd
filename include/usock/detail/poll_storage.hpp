#pragma once
/// \file
/// Storage for the readiness sets (`poll_set`s): an array that is either fixed (`Capacity` elements inside the
/// object, no heap: the firmware form) or grows on the heap (`usock::dynamic_capacity`: the host form), and a
/// map from handle to registration built on it, with O(1) look-up, insertion and removal.

#include <bit>
#include <cstddef>
#include <cstring>
#include <limits>
#include <new>
#include <span>
#include <system_error>
#include <type_traits>

#include "../error.hpp"

namespace usock {

/// A poller capacity that grows on registration instead of being fixed (`usock::basic_poller<B,
/// usock::dynamic_capacity>`): the heap is used when a registration needs more room, never on a `poll`.
inline constexpr std::size_t dynamic_capacity = std::dynamic_extent;

namespace detail {

/// `Capacity` trivially copyable `T`s inside the object, or (`dynamic_capacity`) a heap array grown by doubling.
template <class T, std::size_t Capacity>
class poll_array {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  T* data() noexcept { return items_; }
  const T* data() const noexcept { return items_; }
  std::size_t capacity() const noexcept { return Capacity; }
  /// True when at least `n` elements fit.
  bool reserve(std::size_t n) noexcept { return n <= Capacity; }

 private:
  T items_[Capacity > 0 ? Capacity : 1]{};
};

template <class T>
class poll_array<T, dynamic_capacity> {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  poll_array() noexcept = default;
  poll_array(const poll_array&) = delete;
  poll_array& operator=(const poll_array&) = delete;
  poll_array(poll_array&& other) noexcept : items_(other.items_), capacity_(other.capacity_) {
    other.items_ = nullptr;
    other.capacity_ = 0;
  }
  poll_array& operator=(poll_array&& other) noexcept {
    if (this != &other) {
      delete[] items_;
      items_ = other.items_;
      capacity_ = other.capacity_;
      other.items_ = nullptr;
      other.capacity_ = 0;
    }
    return *this;
  }
  ~poll_array() { delete[] items_; }

  T* data() noexcept { return items_; }
  const T* data() const noexcept { return items_; }
  std::size_t capacity() const noexcept { return capacity_; }
  /// Grows (doubling, at least 16) so that `n` elements fit, keeping the first `capacity()` elements; false when
  /// the heap has no room.
  bool reserve(std::size_t n) noexcept {
    if (n <= capacity_) return true;
    std::size_t grown = capacity_ < 16 ? 16 : capacity_;
    while (grown < n) grown *= 2;
    T* bigger = new (std::nothrow) T[grown]{};
    if (!bigger) return false;
    if (items_) std::memcpy(static_cast<void*>(bigger), items_, capacity_ * sizeof(T));
    delete[] items_;
    items_ = bigger;
    capacity_ = grown;
    return true;
  }

 private:
  T* items_ = nullptr;
  std::size_t capacity_ = 0;
};

/// Handle -> `Value` for up to `Capacity` handles (or any number, `dynamic_capacity`): open addressing with
/// linear probing over a power-of-two table at most half full, so look-up, insertion and removal take O(1).
/// `Empty` marks a free slot and is never a key.
template <class Handle, Handle Empty, class Value, std::size_t Capacity>
class handle_map {
  struct slot {
    Handle key;
    Value value;
  };
  static constexpr std::size_t fixed_slots = Capacity == dynamic_capacity ? 0 : std::bit_ceil(2 * Capacity);

 public:
  handle_map() noexcept { clear_slots(table_.data(), table_.capacity()); }
  handle_map(const handle_map&) = delete;
  handle_map& operator=(const handle_map&) = delete;
  handle_map& operator=(handle_map&&) = delete;

  std::size_t size() const noexcept { return size_; }

  Value* find(Handle h) noexcept {
    const std::size_t i = index_of(h);
    return i == npos ? nullptr : &table_.data()[i].value;
  }

  /// Adds `h` (not yet a key) with a value-initialised `Value`. Errors: `no_buffer_space` (a fixed map holds
  /// `Capacity` handles), `not_enough_memory` (a growing map could not grow).
  Value* insert(Handle h, usock::error_code& ec) noexcept {
    if constexpr (Capacity != dynamic_capacity) {
      if (size_ == Capacity) return ec = make_error(std::errc::no_buffer_space), nullptr;
    } else if (2 * (size_ + 1) > table_.capacity() && !grow()) {
      return ec = make_error(std::errc::not_enough_memory), nullptr;
    }
    const std::size_t mask = table_.capacity() - 1;
    std::size_t i = home(h, mask);
    while (table_.data()[i].key != Empty) i = (i + 1) & mask;
    table_.data()[i] = slot{h, Value{}};
    ++size_;
    ec.clear();
    return &table_.data()[i].value;
  }

  /// Removes `h` if it is a key (backward-shift deletion: no tombstones, so probes stay short).
  void erase(Handle h) noexcept {
    std::size_t hole = index_of(h);
    if (hole == npos) return;
    const std::size_t mask = table_.capacity() - 1;
    slot* s = table_.data();
    for (std::size_t i = (hole + 1) & mask; s[i].key != Empty; i = (i + 1) & mask) {
      // s[i] moves into the hole unless its home lies cyclically in (hole, i].
      if (((i - home(s[i].key, mask)) & mask) >= ((i - hole) & mask)) {
        s[hole] = s[i];
        hole = i;
      }
    }
    s[hole].key = Empty;
    --size_;
  }

  /// Calls `f(handle, value&)` for every entry (O(table size): for the rare paths only).
  template <class F>
  void for_each(F&& f) noexcept {
    for (std::size_t i = 0; i < table_.capacity(); ++i)
      if (table_.data()[i].key != Empty) f(table_.data()[i].key, table_.data()[i].value);
  }

  /// Bytes this map holds on the heap or inside its owner (for memory figures).
  std::size_t bytes() const noexcept { return table_.capacity() * sizeof(slot); }

 private:
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

  std::size_t index_of(Handle h) const noexcept {
    if (table_.capacity() == 0) return npos;
    const std::size_t mask = table_.capacity() - 1;
    for (std::size_t i = home(h, mask);; i = (i + 1) & mask) {
      if (table_.data()[i].key == h) return i;
      if (table_.data()[i].key == Empty) return npos;
    }
  }

  static std::size_t home(Handle h, std::size_t mask) noexcept {
    // Handles are small dense integers: spread them so neighbours do not share a probe run.
    // (An odd multiplier permutes the low bits, so consecutive handles never collide.)
    return (static_cast<std::size_t>(h) * static_cast<std::size_t>(0x9E3779B97F4A7C15ull)) & mask;
  }
  static void clear_slots(slot* s, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) s[i].key = Empty;
  }
  bool grow() noexcept {
    poll_array<slot, dynamic_capacity> old = static_cast<poll_array<slot, dynamic_capacity>&&>(table_);
    if (!table_.reserve(old.capacity() < 32 ? 32 : 2 * old.capacity())) {
      table_ = static_cast<poll_array<slot, dynamic_capacity>&&>(old);
      return false;
    }
    clear_slots(table_.data(), table_.capacity());
    const std::size_t mask = table_.capacity() - 1;
    for (std::size_t j = 0; j < old.capacity(); ++j) {
      if (old.data()[j].key == Empty) continue;
      std::size_t i = home(old.data()[j].key, mask);
      while (table_.data()[i].key != Empty) i = (i + 1) & mask;
      table_.data()[i] = old.data()[j];
    }
    return true;
  }

  poll_array<slot, Capacity == dynamic_capacity ? dynamic_capacity : fixed_slots> table_;
  std::size_t size_ = 0;
};

}  // namespace detail
}  // namespace usock
