#pragma once
// A heap-allocation counter for the thread that arms it. counting_allocator.cpp replaces the global operator
// new/delete family and, on glibc, malloc/calloc/realloc and the aligned allocators, so that every way onto the
// heap (std::string, std::unique_ptr, a C library call) is seen. Only calls made on a thread while it is armed
// count, so a peer thread, the test framework and the runtime never disturb a measurement.
#include <cstddef>

namespace usock_alloc {

/// Heap calls seen on one thread while it was armed.
struct counts {
  std::size_t news = 0;     ///< operator new / new[] (every overload)
  /// malloc, calloc, realloc, aligned_alloc, posix_memalign, memalign (glibc only); operator new allocates
  /// through malloc, so it counts here as well.
  std::size_t mallocs = 0;
  std::size_t total() const noexcept { return news + mallocs; }
};

/// True when malloc and friends are replaced too (glibc), not only operator new.
bool counts_malloc() noexcept;

/// Starts counting on this thread from zero.
void arm() noexcept;
/// Stops counting on this thread and returns what was counted since `arm()`.
counts disarm() noexcept;

/// Runs `f` armed and returns what it allocated on this thread.
template <class F>
counts allocations_in(F&& f) {
  arm();
  f();
  return disarm();
}

}  // namespace usock_alloc
