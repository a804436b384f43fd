// The replaced allocation functions behind counting_allocator.hpp. Kept in their own translation unit so that
// the compiler cannot see through them and elide the calls it would otherwise be allowed to drop.
#include "counting_allocator.hpp"

#include <cerrno>
#include <cstdlib>
#include <new>

namespace {
// Constant-initialised thread-locals of the executable itself: reading them never allocates, so malloc may too.
thread_local bool armed = false;
thread_local usock_alloc::counts seen{};

void count_new() noexcept {
  if (armed) ++seen.news;
}

void* new_or_null(std::size_t size) noexcept {
  count_new();
  return std::malloc(size == 0 ? 1 : size);
}
void* new_or_throw(std::size_t size) {
  void* p = new_or_null(size);
  if (!p) throw std::bad_alloc();
  return p;
}
void* aligned_new_or_null(std::size_t size, std::align_val_t align) noexcept {
  count_new();
  void* p = nullptr;
  const std::size_t alignment = static_cast<std::size_t>(align) < sizeof(void*) ? sizeof(void*)
                                                                                  : static_cast<std::size_t>(align);
  return ::posix_memalign(&p, alignment, size == 0 ? 1 : size) == 0 ? p : nullptr;
}
void* aligned_new_or_throw(std::size_t size, std::align_val_t align) {
  void* p = aligned_new_or_null(size, align);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

namespace usock_alloc {
void arm() noexcept {
  seen = counts{};
  armed = true;
}
counts disarm() noexcept {
  armed = false;
  return seen;
}
}  // namespace usock_alloc

// ---- operator new / delete: every replaceable overload ----------------------------------------------------

void* operator new(std::size_t size) { return new_or_throw(size); }
void* operator new[](std::size_t size) { return new_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return new_or_null(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return new_or_null(size); }
void* operator new(std::size_t size, std::align_val_t align) { return aligned_new_or_throw(size, align); }
void* operator new[](std::size_t size, std::align_val_t align) { return aligned_new_or_throw(size, align); }
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return aligned_new_or_null(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return aligned_new_or_null(size, align);
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

// ---- the C allocator (glibc exports its own implementation under __libc_* names) --------------------------

#if defined(__GLIBC__)
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

namespace {
void count_malloc() noexcept {
  if (armed) ++seen.mallocs;
}
}  // namespace

void* malloc(std::size_t size) {
  count_malloc();
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
  count_malloc();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) {
  count_malloc();
  return __libc_realloc(p, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
  count_malloc();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count_malloc();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  count_malloc();
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* p = __libc_memalign(alignment, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void free(void* p) { __libc_free(p); }
}

bool usock_alloc::counts_malloc() noexcept { return true; }
#else
bool usock_alloc::counts_malloc() noexcept { return false; }
#endif
