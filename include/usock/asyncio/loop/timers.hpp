#pragma once
/// \file
/// The loop's timers: an intrusive pairing heap (as MicroPython's task queue), keyed by deadline and then by
/// arrival, so timers due at the same instant fire in the order they were set. Nodes live in the awaiters
/// (`sleep`, `wait_for`), so a timer allocates nothing.

#include <cstdint>

namespace usock::asyncio::detail {

/// One pending timer. `fire` runs in the loop when the deadline has passed.
struct timer_node {
  std::int64_t when = 0;  // the backend clock's time since its epoch, in nanoseconds
  std::uint64_t seq = 0;
  timer_node* child = nullptr;
  timer_node* next = nullptr;
  timer_node* prev = nullptr;  // the parent when first child, else the left sibling
  void (*fire)(timer_node&) noexcept = nullptr;
  bool linked = false;
};

class timer_heap {
 public:
  bool empty() const noexcept { return root_ == nullptr; }
  const timer_node* top() const noexcept { return root_; }

  void insert(timer_node& n) noexcept {
    n.seq = seq_++;
    n.child = n.next = n.prev = nullptr;
    n.linked = true;
    root_ = meld(root_, &n);
  }
  timer_node* pop() noexcept {
    timer_node* n = root_;
    if (n) {
      root_ = merge_pairs(n->child);
      unlink_fields(*n);
    }
    return n;
  }
  void remove(timer_node& n) noexcept {
    if (!n.linked) return;
    if (&n == root_) return void(pop());
    if (n.prev->child == &n) n.prev->child = n.next; else n.prev->next = n.next;
    if (n.next) n.next->prev = n.prev;
    timer_node* sub = merge_pairs(n.child);
    unlink_fields(n);
    root_ = meld(root_, sub);
  }

 private:
  static bool before(const timer_node* a, const timer_node* b) noexcept {
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
  }
  static void unlink_fields(timer_node& n) noexcept {
    n.child = n.next = n.prev = nullptr;
    n.linked = false;
  }
  static timer_node* meld(timer_node* a, timer_node* b) noexcept {
    if (!a) return b;
    if (!b) return a;
    if (before(b, a)) {
      timer_node* t = a;
      a = b;
      b = t;
    }
    b->next = a->child;
    if (a->child) a->child->prev = b;
    b->prev = a;
    a->child = b;
    a->next = a->prev = nullptr;
    return a;
  }
  /// The two-pass merge of a sibling list, without recursion.
  static timer_node* merge_pairs(timer_node* first) noexcept {
    timer_node* pairs = nullptr;  // melded pairs, last first
    while (first) {
      timer_node* a = first;
      timer_node* b = a->next;
      first = b ? b->next : nullptr;
      a->next = a->prev = nullptr;
      if (b) b->next = b->prev = nullptr;
      timer_node* m = meld(a, b);
      m->next = pairs;
      pairs = m;
    }
    timer_node* root = nullptr;
    while (pairs) {
      timer_node* rest = pairs->next;
      pairs->next = nullptr;
      root = meld(root, pairs);
      pairs = rest;
    }
    return root;
  }

  timer_node* root_ = nullptr;
  std::uint64_t seq_ = 0;
};

}  // namespace usock::asyncio::detail
