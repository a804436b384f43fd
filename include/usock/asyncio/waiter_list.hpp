#pragma once
/// \file
/// The FIFO of tasks waiting on an `event` or a `lock`: intrusive, its nodes in the awaiters.

#include <coroutine>
#include <system_error>

#include "loop/core.hpp"

namespace usock::asyncio::detail {

class waiter_list;

/// An awaiter queued on a `waiter_list`.
struct queued_waiter : waiter {
  waiter_list* list = nullptr;
  queued_waiter* prev = nullptr;
  queued_waiter* next = nullptr;
  task_state* self = nullptr;
  usock::error_code* ec = nullptr;
  bool cancelled = false;
  bool linked = false;
};

class waiter_list {
 public:
  constexpr waiter_list() noexcept = default;
  bool empty() const noexcept { return head_ == nullptr; }

  /// Queues `w` (awaited in `h`): on `cancel`, it leaves the queue and reports `operation_canceled`.
  void push(queued_waiter& w, std::coroutine_handle<> h) noexcept {
    if (!w.cancel) {
      w.cancel = [](waiter& base) noexcept {
        auto& q = static_cast<queued_waiter&>(base);
        q.cancelled = true;
        q.list->remove(q);
        q.self->loop->wake(*q.self);
        return true;
      };
    }
    w.prev = tail_;
    w.next = nullptr;
    if (tail_) tail_->next = &w; else head_ = &w;
    tail_ = &w;
    w.linked = true;
    w.list = this;
    w.self->loop->suspend(*w.self, w, h);
  }
  /// Takes the first waiter off and wakes its task; false if there is none.
  bool wake_one() noexcept {
    queued_waiter* w = head_;
    if (!w) return false;
    remove(*w);
    w->self->loop->wake(*w->self);
    return true;
  }
  void remove(queued_waiter& w) noexcept {
    if (!w.linked) return;
    if (w.prev) w.prev->next = w.next; else head_ = w.next;
    if (w.next) w.next->prev = w.prev; else tail_ = w.prev;
    w.prev = w.next = nullptr;
    w.linked = false;
  }

 private:
  queued_waiter* head_ = nullptr;
  queued_waiter* tail_ = nullptr;
};

}  // namespace usock::asyncio::detail
