#pragma once
/// \file
/// `detail::scan_poll_set`: the readiness set of a stack that is asked about all its sockets at once (`poll(2)`,
/// `lwip_poll`/`lwip_select`, the raw-API pool). Registrations live in an array handed whole to each wait, so a
/// wait costs O(registered): right for a board's handful of sockets and for POSIX systems without `epoll`.

#include <cstddef>
#include <span>
#include <system_error>

#include "../backend.hpp"
#include "../error.hpp"
#include "poll_storage.hpp"

namespace usock::detail {

/// A stack whose wait takes an array of its own entries, one per handle (the form of `poll(2)`):
/// - `poll_entry`, `make_poll_entry(h, events)`, `poll_entry_handle(entry)`, `set_poll_events(entry&, events)`,
///   `poll_revents(entry)` (usock's `pollin`... flags found by the last wait);
/// - `poll(entries, count, timeout_ms, ec) -> std::size_t`: how many entries are ready; 0 when the time ran
///   out or a signal interrupted the wait; `timeout_ms` < 0 waits forever.
template <class B>
concept entry_polling_stack =
    requires { typename B::poll_entry; } &&
    requires(typename B::handle_type h, typename B::poll_entry& entry, typename B::poll_entry* entries,
             std::size_t count, unsigned events, int timeout_ms, usock::error_code& ec) {
      { B::make_poll_entry(h, events) } noexcept -> std::same_as<typename B::poll_entry>;
      { B::poll_entry_handle(entry) } noexcept -> std::same_as<typename B::handle_type>;
      { B::set_poll_events(entry, events) } noexcept;
      { B::poll_revents(entry) } noexcept -> std::same_as<unsigned>;
      { B::poll(entries, count, timeout_ms, ec) } noexcept -> std::same_as<std::size_t>;
    };

/// The `poll_set` of an `entry_polling_stack`: see `usock::polling_backend` for the members' contract.
template <class Stack, std::size_t Capacity>
class scan_poll_set {
 public:
  using handle_type = typename Stack::handle_type;
  using ready_entry = poll_ready<handle_type>;

  scan_poll_set() noexcept = default;
  scan_poll_set(const scan_poll_set&) = delete;
  scan_poll_set& operator=(const scan_poll_set&) = delete;
  scan_poll_set(scan_poll_set&&) noexcept = default;
  scan_poll_set& operator=(scan_poll_set&&) noexcept = default;

  void add(handle_type h, unsigned events, usock::error_code& ec) noexcept {
    if (auto* entry = find(h)) return Stack::set_poll_events(*entry, events), ec.clear();
    if (!entries_.reserve(count_ + 1) || !ready_.reserve(count_ + 1))
      return ec = make_error(Capacity == dynamic_capacity ? std::errc::not_enough_memory
                                                                     : std::errc::no_buffer_space),
             void();
    entries_.data()[count_++] = Stack::make_poll_entry(h, events);
    ec.clear();
  }

  void modify(handle_type h, unsigned events, usock::error_code& ec) noexcept {
    auto* entry = find(h);
    if (!entry) return ec = make_error(std::errc::no_such_file_or_directory), void();
    Stack::set_poll_events(*entry, events);
    ec.clear();
  }

  void remove(handle_type h, usock::error_code& ec) noexcept {
    auto* entry = find(h);
    if (!entry) return ec = make_error(std::errc::no_such_file_or_directory), void();
    *entry = entries_.data()[--count_];  // order does not matter to a wait
    ec.clear();
  }

  std::size_t size() const noexcept { return count_; }

  std::span<const ready_entry> wait(int timeout_ms, usock::error_code& ec) noexcept {
    const std::size_t n = Stack::poll(entries_.data(), count_, timeout_ms, ec);
    if (ec || n == 0) return {};
    std::size_t ready = 0;
    for (std::size_t i = 0; i < count_; ++i)
      if (const unsigned events = Stack::poll_revents(entries_.data()[i]))
        ready_.data()[ready++] = ready_entry{Stack::poll_entry_handle(entries_.data()[i]), events};
    return {ready_.data(), ready};
  }

 private:
  typename Stack::poll_entry* find(handle_type h) noexcept {
    for (std::size_t i = 0; i < count_; ++i)
      if (Stack::poll_entry_handle(entries_.data()[i]) == h) return &entries_.data()[i];
    return nullptr;
  }

  poll_array<typename Stack::poll_entry, Capacity> entries_;
  poll_array<ready_entry, Capacity> ready_;
  std::size_t count_ = 0;
};

}  // namespace usock::detail
