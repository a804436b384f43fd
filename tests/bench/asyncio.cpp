// usock_bench_asyncio (issue 12, performance): usock's asyncio against blocking usock and against Asio's
// awaitables, each workload run by each contender in the same process, alternating, for several rounds;
// prints medians, ratios and whether each goal is met, as markdown tables.
//
//   usock_bench_asyncio [--rounds N] [--scale F]
//                       [--only bulk,lines,pingpong,churn,timeout,echo,echo-timeout,syscalls,c10k]
//                       [--contenders "usock asyncio,blocking usock,Asio awaitables"] [--c10k N] [--no-check]
//                       [--verbose]
//
// Workloads: usock_bench's bulk stream, small messages (lines), ping-pong and connection churn; ping-pong with a
// timeout on every read (asyncio::wait_for against Asio's `read || timer`); an echo server on one loop thread
// for 1,000 concurrent connections whose clients run in a forked process (the same hand-written epoll client for
// both servers), and the same with a timeout on every read the server makes; then, once, 10,000 concurrent connections echoing on one loop thread with the heap
// allocations of the server's thread counted over the steady state (tests/alloc's counter). System calls per
// ping-pong round trip are counted on the measuring thread where tracefs is mounted.
//
// USOCK_BENCH_ROUNDS and USOCK_BENCH_SCALE set the same as the flags; --scale 0.05 is a quick run. Exit status:
// 0 when every goal is met (or --no-check), 1 when one is missed, 2 on a usage error or a workload that failed.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "asyncio_bench.hpp"
#include "syscall_counter.hpp"
#include "usock_workloads.hpp"

namespace usock_bench {

// ---- the many-connection echo: the client process and the harness ------------------------------------------

void echo_job::listening(std::uint16_t port) {
  if (port_pipe < 0) return;
  (void)!::write(port_pipe, &port, sizeof port);
  ::close(port_pipe);
  port_pipe = -1;
}

namespace {

[[noreturn]] void client_die(const char* what) {
  std::fprintf(stderr, "usock_bench_asyncio: echo clients: %s: %s\n", what, std::strerror(errno));
  std::fflush(stderr);
  ::_exit(2);
}

void fill_message(char* out, std::size_t id, std::size_t round) {
  for (std::size_t i = 0; i < echo_plan::message; ++i)
    out[i] = static_cast<char>((id * 131 + round * 17 + i) & 0xff);
}

/// The clients (the forked child): waits for the server's port, connects every connection, makes one warm-up
/// round trip on each (all of them before going on), then `rounds` timed round trips on each, every
/// connection on its own, every byte checked; writes the timed part's seconds to `report` and exits.
[[noreturn]] void echo_clients(int port_pipe, int report, const echo_plan& plan) {
  pin_this_thread(0);
  std::uint16_t port = 0;
  pollfd pfd{port_pipe, POLLIN, 0};
  if (::poll(&pfd, 1, 60000) != 1 || ::read(port_pipe, &port, sizeof port) != sizeof port || port == 0)
    client_die("no port from the server");
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  const std::size_t n = plan.connections;
  std::vector<int> fds(n, -1);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) client_die("epoll_create1");
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) client_die("socket");
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) client_die("connect");
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) client_die("epoll_ctl");
    fds[i] = fd;
  }
  std::vector<std::size_t> done_rounds(n), got(n);
  std::vector<char> in(n * echo_plan::message);
  char expected[echo_plan::message];
  // Round trips `first` .. `first + count - 1` on every connection.
  auto round_trips = [&](std::size_t first, std::size_t count) {
    std::fill(done_rounds.begin(), done_rounds.end(), 0);
    std::fill(got.begin(), got.end(), 0);
    for (std::size_t i = 0; i < n; ++i) {
      fill_message(expected, i, first);
      if (::send(fds[i], expected, echo_plan::message, MSG_NOSIGNAL) != static_cast<ssize_t>(echo_plan::message))
        client_die("send");
    }
    std::size_t finished = 0;
    epoll_event events[256];
    while (finished < n) {
      const int k = ::epoll_wait(ep, events, 256, 30000);
      if (k <= 0) client_die("epoll_wait (no progress in 30 s)");
      for (int e = 0; e < k; ++e) {
        const std::size_t i = events[e].data.u64;
        char* buf = &in[i * echo_plan::message];
        const ssize_t r = ::recv(fds[i], buf + got[i], echo_plan::message - got[i], 0);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) client_die("recv (the server closed or failed)");
        got[i] += static_cast<std::size_t>(r);
        if (got[i] < echo_plan::message) continue;
        got[i] = 0;
        fill_message(expected, i, first + done_rounds[i]);
        if (std::memcmp(buf, expected, echo_plan::message) != 0) {
          errno = 0;
          client_die("wrong bytes echoed");
        }
        if (++done_rounds[i] == count) {
          ++finished;
          continue;
        }
        fill_message(expected, i, first + done_rounds[i]);
        if (::send(fds[i], expected, echo_plan::message, MSG_NOSIGNAL) != static_cast<ssize_t>(echo_plan::message))
          client_die("send");
      }
    }
  };
  round_trips(0, 1);
  const auto start = clock::now();
  round_trips(1, plan.rounds);
  const double seconds = seconds_since(start);
  if (::write(report, &seconds, sizeof seconds) != sizeof seconds) client_die("report");
  for (int fd : fds) ::close(fd);
  ::_exit(0);
}

struct echo_outcome {
  double seconds = 0;
  echo_job job;
  std::string error;  ///< empty when the run went right
};

/// Serves the echo with `serve` on this thread while a forked child runs the clients.
echo_outcome run_echo(echo_server_fn serve, const echo_plan& plan, std::chrono::seconds bound) {
  echo_outcome out;
  int port_pipe[2], report[2];
  if (::pipe2(port_pipe, O_CLOEXEC) != 0 || ::pipe2(report, O_CLOEXEC) != 0)
    return out.error = std::string("pipe: ") + std::strerror(errno), out;
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) return out.error = std::string("fork: ") + std::strerror(errno), out;
  if (child == 0) {
    ::close(port_pipe[1]);
    ::close(report[0]);
    echo_clients(port_pipe[0], report[1], plan);
  }
  ::close(port_pipe[0]);
  ::close(report[1]);
  pin_this_thread(1);
  out.job.plan = plan;
  out.job.port_pipe = port_pipe[1];
  out.job.give_up = std::chrono::steady_clock::now() + bound;
  serve(out.job);
  out.job.listening(0);  // if the server never listened: the clients give up at once
  if (out.job.errors) ::kill(child, SIGKILL);
  double seconds = 0;
  const bool reported = ::read(report[0], &seconds, sizeof seconds) == sizeof seconds;
  ::close(report[0]);
  int status = 0;
  const bool child_ok = ::waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  out.seconds = seconds;
  if (out.job.errors) out.error = "server: " + std::to_string(out.job.errors) + " errors, first: " + out.job.first_error;
  else if (!child_ok || !reported) out.error = "the client process failed";
  else if (out.job.accepted != plan.connections) out.error = "server: accepted " + std::to_string(out.job.accepted);
  else if (out.job.bytes != out.job.all_bytes()) out.error = "server: echoed " + std::to_string(out.job.bytes) + " bytes";
  else if (!out.job.counted) out.error = "server: the allocation window never closed";
  return out;
}

/// Per echo run, by slot (usock asyncio, Asio awaitables; then the same with a read timeout): allocations per
/// message on the server's thread in the steady state, and the server thread's CPU time per message there
/// (printed with the table: the clients' process bounds the echo's round trips per second, the server's CPU
/// time shows what each server spends).
std::vector<double> echo_allocations[4];
std::vector<double> echo_cpu_us[4];
constexpr const char* echo_slot_names[4] = {"usock asyncio", "Asio awaitables", "usock asyncio, read timeout",
                                            "Asio awaitables, read timeout"};

template <echo_server_fn Serve, int Slot, bool ReadTimeout = false>
double echo_workload(const plan& p) {
  echo_plan ep = p.echo;
  ep.read_timeout = ReadTimeout;
  const echo_outcome o = run_echo(Serve, ep, std::chrono::seconds(120));
  if (!o.error.empty()) throw workload_failed("echo: " + o.error);
  constexpr int slot = Slot + (ReadTimeout ? 2 : 0);
  const auto messages = static_cast<double>(o.job.window_messages());
  echo_allocations[slot].push_back(static_cast<double>(o.job.window.total()) / messages);
  echo_cpu_us[slot].push_back(o.job.cpu_window / messages * 1e6);
  return o.seconds;
}

// ---- the runner -------------------------------------------------------------------------------------------------

enum workload_id { bulk, lines, pingpong, churn, timeout, echo, echo_timeout, workload_count };
constexpr const char* workload_names[] = {"bulk", "lines", "pingpong", "churn", "timeout", "echo", "echo-timeout"};
constexpr const char* workload_titles[] = {
    "bulk stream, 64 KiB chunks",      "small messages, readline",
    "ping-pong, 1 byte, TCP_NODELAY",  "connection churn",
    "ping-pong, timeout on every read", "echo, 1,000 connections, 64 bytes",
    "echo, 1,000 connections, timeout on every read"};

using usock_blocking = usock_workloads<usock::socket>;

struct row {
  int w;
  const char* name;
  plan_fn fn;
  std::vector<double> seconds;
  std::vector<double> cpu;  ///< the measuring thread's CPU seconds for the whole run (setup included)
};

constexpr const char* blocking = "blocking usock";
constexpr const char* aio = "usock asyncio";
constexpr const char* asio_aw = "Asio awaitables";

std::vector<row> make_rows() {
  std::vector<row> r;
  r.push_back({bulk, blocking, [](const plan& p) { return usock_blocking::bulk(p.s); }, {}, {}});
  r.push_back({bulk, aio, asyncio_bulk, {}, {}});
  static_assert(usock_blocking::has_readline_into, "the blocking contender of lines is readline(line)");
  r.push_back({lines, blocking, [](const plan& p) { return usock_blocking::lines_reusing(p.s); }, {}, {}});
  r.push_back({lines, aio, asyncio_lines, {}, {}});
  r.push_back({lines, asio_aw, asio_lines, {}, {}});
  r.push_back({pingpong, blocking, [](const plan& p) { return usock_blocking::pingpong(p.s); }, {}, {}});
  r.push_back({pingpong, aio, asyncio_pingpong, {}, {}});
  r.push_back({pingpong, asio_aw, asio_pingpong, {}, {}});
  r.push_back({churn, blocking, [](const plan& p) { return usock_blocking::churn(p.s); }, {}, {}});
  r.push_back({churn, aio, asyncio_churn, {}, {}});
  r.push_back({churn, asio_aw, asio_churn, {}, {}});
  r.push_back({timeout, aio, asyncio_pingpong_timeout, {}, {}});
  r.push_back({timeout, asio_aw, asio_pingpong_timeout, {}, {}});
  r.push_back({echo, aio, echo_workload<asyncio_echo_server, 0>, {}, {}});
  r.push_back({echo, asio_aw, echo_workload<asio_echo_server, 1>, {}, {}});
  r.push_back({echo_timeout, aio, echo_workload<asyncio_echo_server, 0, true>, {}, {}});
  r.push_back({echo_timeout, asio_aw, echo_workload<asio_echo_server, 1, true>, {}, {}});
  return r;
}

struct spread {
  double median = NAN, low = NAN, high = NAN;
};
spread spread_of(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size(), m = n / 2;
  return {n % 2 ? v[m] : (v[m - 1] + v[m]) / 2, v[n / 4], v[(3 * n) / 4 < n ? (3 * n) / 4 : n - 1]};
}
double median(std::vector<double> v) { return spread_of(std::move(v)).median; }
/// Round by round, `numerator[i] / denominator[i]`, and their spread (pairing by round cancels drift).
spread paired(const std::vector<double>& numerator, const std::vector<double>& denominator) {
  std::vector<double> r;
  for (std::size_t i = 0; i < numerator.size() && i < denominator.size(); ++i) r.push_back(numerator[i] / denominator[i]);
  return spread_of(std::move(r));
}

std::size_t scaled(std::size_t n, double scale) {
  return std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(static_cast<double>(n) * scale)));
}
plan make_plan(double scale) {
  plan p;
  sizes& s = p.s;
  s.bulk_bytes = scaled(s.bulk_bytes / s.bulk_chunk, scale) * s.bulk_chunk;
  s.pingpong_rounds = scaled(s.pingpong_rounds, scale);
  s.churn_connections = scaled(s.churn_connections, scale);
  // 8 million lines (usock_bench reads 1 million): a round of a million lines takes 30 to 50 ms here, too short
  // to settle, and the per-round ratio swung from 0.69 to 1.03 within one run.
  s.lines = scaled(s.lines * 8, scale);
  p.echo.rounds = scaled(p.echo.rounds, scale);
  return p;
}

struct metric {
  double value;
  const char* unit;
};
metric to_metric(int w, double seconds, const plan& p) {
  switch (w) {
    case bulk: return {static_cast<double>(p.s.bulk_bytes) / seconds / (1 << 30), "GiB/s"};
    case lines: return {static_cast<double>(p.s.lines) / seconds / 1e6, "M lines/s"};
    case churn: return {static_cast<double>(p.s.churn_connections) / seconds, "connections/s"};
    case echo:
    case echo_timeout: return {static_cast<double>(p.echo.connections * p.echo.rounds) / seconds, "round trips/s"};
    default: return {seconds / static_cast<double>(p.s.pingpong_rounds) * 1e6, "us/round trip"};
  }
}

struct options {
  int rounds = 5;
  double scale = 1.0;
  std::vector<std::string> only;
  std::vector<std::string> contenders;
  std::size_t c10k = 10000;
  bool check = true;
  bool verbose = false;
};

std::vector<std::string> split(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const std::size_t at = list.find(',');
    if (at != 0) out.emplace_back(list.substr(0, at));
    list = at == std::string_view::npos ? std::string_view{} : list.substr(at + 1);
  }
  return out;
}
bool wanted(const std::vector<std::string>& list, std::string_view name) {
  return list.empty() || std::find(list.begin(), list.end(), name) != list.end();
}

void print_machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::printf("machine: %u CPUs (%s); compiler: %s; USOCK_ASYNCIO_CAPACITY %d\n", std::thread::hardware_concurrency(),
              model.c_str(), USOCK_BENCH_CXX_ID, USOCK_ASYNCIO_CAPACITY);
}

/// Raises the soft descriptor limit to the hard one (the 10,000-connection run needs a little over 10,000 in
/// each process); returns the soft limit now.
rlim_t raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
    (void)::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

struct goal {
  std::string text;
  spread measured;
  double target;
  bool met() const { return measured.median >= target; }
};

int usage() {
  std::fprintf(stderr,
               "usage: usock_bench_asyncio [--rounds N] [--scale F]\n"
               "         [--only bulk,lines,pingpong,churn,timeout,echo,echo-timeout,syscalls,c10k]\n"
               "         [--contenders NAME,...] [--c10k N]\n"
               "         [--no-check] [--verbose]\n");
  return 2;
}

}  // namespace

int run(int argc, char** argv) {
  options opt;
  if (const char* r = std::getenv("USOCK_BENCH_ROUNDS")) opt.rounds = std::atoi(r);
  if (const char* f = std::getenv("USOCK_BENCH_SCALE")) opt.scale = std::atof(f);
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--rounds" && has_value) opt.rounds = std::atoi(argv[++i]);
    else if (a == "--scale" && has_value) opt.scale = std::atof(argv[++i]);
    else if (a == "--only" && has_value) opt.only = split(argv[++i]);
    else if (a == "--contenders" && has_value) opt.contenders = split(argv[++i]);
    else if (a == "--c10k" && has_value) opt.c10k = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--no-check") opt.check = false;
    else if (a == "--verbose") opt.verbose = true;
    else return usage();
  }
  if (opt.rounds < 1 || !(opt.scale > 0) || opt.c10k < 1) return usage();
  std::signal(SIGPIPE, SIG_IGN);
  const rlim_t descriptors = raise_descriptor_limit();

  const std::size_t chunk = sizes{}.bulk_chunk;
  const std::unique_ptr<char, decltype(&std::free)> bulk_out(static_cast<char*>(std::aligned_alloc(4096, chunk)),
                                                              &std::free);
  const std::unique_ptr<char, decltype(&std::free)> bulk_in(static_cast<char*>(std::aligned_alloc(4096, chunk)),
                                                             &std::free);
  if (!bulk_out || !bulk_in) return 2;
  std::memset(bulk_out.get(), 'b', chunk);
  std::memset(bulk_in.get(), 0, chunk);
  plan p = make_plan(opt.scale), warm = make_plan(opt.scale / 20);
  p.s.bulk_out = warm.s.bulk_out = bulk_out.get();
  p.s.bulk_in = warm.s.bulk_in = bulk_in.get();
  const std::string line_data = make_lines(p.s.lines), warm_lines = make_lines(warm.s.lines);
  p.s.line_data = &line_data;
  warm.s.line_data = &warm_lines;

  print_machine();
  std::printf("rounds: %d, scale: %g (bulk %zu MiB, lines %zu, ping-pong %zu round trips, churn %zu connections, "
              "echo %zu connections x %zu round trips); RLIMIT_NOFILE %llu\n\n",
              opt.rounds, opt.scale, p.s.bulk_bytes >> 20, p.s.lines, p.s.pingpong_rounds, p.s.churn_connections,
              p.echo.connections, p.echo.rounds, static_cast<unsigned long long>(descriptors));
  std::fflush(stdout);

  std::vector<row> rows;
  for (row& r : make_rows())
    if (wanted(opt.contenders, r.name)) rows.push_back(std::move(r));
  // Every contender runs every workload once at a twentieth of the size, unrecorded, then the rounds; within a
  // round each workload runs every contender in turn, starting one further along each round.
  for (int round = -1; round < opt.rounds; ++round) {
    for (int w = 0; w < workload_count; ++w) {
      if (!wanted(opt.only, workload_names[w])) continue;
      std::vector<row*> of;
      for (row& r : rows)
        if (r.w == w) of.push_back(&r);
      for (std::size_t k = 0; k < of.size(); ++k) {
        row& r = *of[(k + static_cast<std::size_t>(round + 1)) % of.size()];
        try {
          const double cpu_before = echo_job::thread_cpu_seconds();
          const double t = r.fn(round < 0 ? warm : p);
          const double cpu = echo_job::thread_cpu_seconds() - cpu_before;
          if (round >= 0) r.seconds.push_back(t), r.cpu.push_back(cpu);
          if (opt.verbose)
            std::fprintf(stderr, "round %d %s %s: %.6f s\n", round + 1, workload_names[w], r.name, t);
        } catch (const std::exception& ex) {
          std::fprintf(stderr, "usock_bench_asyncio: %s, %s: %s\n", r.name, workload_names[w], ex.what());
          return 2;
        }
      }
    }
    if (round < 0) {
      for (auto& a : echo_allocations) a.clear();
      for (auto& a : echo_cpu_us) a.clear();
    }
    if (round >= 0) std::fprintf(stderr, "round %d of %d done\n", round + 1, opt.rounds);
  }

  auto find = [&](int w, const char* name) -> row* {
    for (row& r : rows)
      if (r.w == w && std::strcmp(r.name, name) == 0 && !r.seconds.empty()) return &r;
    return nullptr;
  };

  bool any = false;
  for (const row& r : rows) any = any || !r.seconds.empty();
  if (any) {
    std::printf("| workload | contender | median | unit | min .. max | vs blocking usock | vs Asio awaitables |\n"
                "|---|---|---:|---|---|---:|---:|\n");
    for (const row& r : rows) {
      if (r.seconds.empty()) continue;
      const metric m = to_metric(r.w, median(r.seconds), p);
      const auto [lo, hi] = std::minmax_element(r.seconds.begin(), r.seconds.end());
      const metric a = to_metric(r.w, *lo, p), b = to_metric(r.w, *hi, p);
      auto ratio = [&](const char* other) -> std::string {
        const row* o = find(r.w, other);
        if (!o || o == &r) return "";
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", paired(o->seconds, r.seconds).median);
        return buf;
      };
      std::printf("| %s | %s | %.4g | %s | %.4g .. %.4g | %s | %s |\n", workload_titles[r.w], r.name, m.value, m.unit,
                  std::min(a.value, b.value), std::max(a.value, b.value), ratio(blocking).c_str(),
                  ratio(asio_aw).c_str());
    }
    std::printf("\nMedians over the rounds. The ratios are speed ratios (above 1: this contender is faster): the other\n"
                "contender's time over this one's in the same round, the median over the rounds.\n");
    for (int slot = 0; slot < 4; ++slot) {
      if (echo_allocations[slot].empty()) continue;
      std::printf("Echo server, %s: %.3f heap allocations and %.2f us of the server thread's CPU time per message in "
                  "the steady state (medians over the rounds).\n",
                  echo_slot_names[slot], median(echo_allocations[slot]), median(echo_cpu_us[slot]));
    }
    if (!echo_cpu_us[2].empty() && !echo_cpu_us[3].empty())
      std::printf("Echo with a read timeout, server CPU time per message: Asio awaitables over usock asyncio %.3f "
                  "(median of the per-round ratios).\n",
                  paired(echo_cpu_us[3], echo_cpu_us[2]).median);
    if (const row *t = find(timeout, asio_aw), *b = find(pingpong, blocking); t && b)
      std::printf("Ping-pong with a timeout: Asio's round trip over blocking usock's without a timeout %.3f (the "
                  "most any client could gain over Asio here: the far end's wake-ups dominate the round trip).\n",
                  paired(t->seconds, b->seconds).median);
    // What each client spends of its own thread's CPU per round trip (the far end's thread is not counted): the
    // library's work, which the wall clock hides behind the far end's wake-ups.
    std::string cpu_line;
    for (int w : {pingpong, timeout})
      for (const char* name : {blocking, aio, asio_aw})
        if (const row* r = find(w, name)) {
          char buf[128];
          std::snprintf(buf, sizeof buf, "%s%s%s %.2f", cpu_line.empty() ? "" : "; ",
                        w == timeout ? "with a timeout, " : "", name,
                        median(r->cpu) / static_cast<double>(p.s.pingpong_rounds) * 1e6);
          cpu_line += buf;
        }
    if (!cpu_line.empty())
      std::printf("Ping-pong, the measuring thread's CPU time per round trip in us, setup included (medians over the "
                  "rounds): %s.\n", cpu_line.c_str());
    if (const row *u = find(timeout, aio), *a = find(timeout, asio_aw); u && a)
      std::printf("Ping-pong with a timeout, the measuring thread's CPU time: Asio awaitables over usock asyncio "
                  "%.3f (median of the per-round ratios).\n",
                  paired(a->cpu, u->cpu).median);
    std::printf("\n");
  }

  std::vector<goal> goals;
  auto add_goal = [&](std::string text, int w, const char* a, const char* b, double target) {
    const row* x = find(w, a);
    const row* y = find(w, b);
    if (x && y) goals.push_back({std::move(text), paired(y->seconds, x->seconds), target});
  };
  add_goal("bulk: asyncio throughput / blocking usock", bulk, aio, blocking, 0.95);
  add_goal("lines: asyncio readline(buf) rate / blocking readline(line)", lines, aio, blocking, 0.95);
  add_goal("ping-pong: asyncio speed / blocking usock", pingpong, aio, blocking, 0.9);
  add_goal("churn: asyncio speed / blocking usock", churn, aio, blocking, 0.9);
  add_goal("ping-pong: asyncio speed / Asio awaitables", pingpong, aio, asio_aw, 1.0);
  add_goal("churn: asyncio speed / Asio awaitables", churn, aio, asio_aw, 1.0);
  add_goal("lines: asyncio speed / Asio awaitables", lines, aio, asio_aw, 1.0);
  add_goal("echo, 1,000 connections: asyncio speed / Asio awaitables", echo, aio, asio_aw, 1.0);
  add_goal("ping-pong with a timeout on every read: wait_for / Asio read || timer", timeout, aio, asio_aw, 1.5);
  add_goal("echo, 1,000 connections, timeout on every read: wait_for / Asio read || timer", echo_timeout, aio, asio_aw,
           1.5);

  // ---- system calls per ping-pong round trip, counted on the measuring thread ----
  bool failed = false;
  if (wanted(opt.only, "syscalls")) {
    syscall_counter counter;
    struct probe {
      const char* what;
      plan_fn fn;
      int per;  // the workload whose operations divide the count
    };
    const probe probes[] = {
        {"ping-pong: blocking usock", [](const plan& q) { return usock_blocking::pingpong(q.s); }, pingpong},
        {"ping-pong: usock asyncio (write, drain, readinto)", asyncio_pingpong, pingpong},
        {"ping-pong: Asio awaitables", asio_pingpong, pingpong},
        {"ping-pong, timeout on every read: usock asyncio wait_for", asyncio_pingpong_timeout, pingpong},
        {"ping-pong, timeout on every read: Asio read || timer", asio_pingpong_timeout, pingpong},
        {"churn, per connection (both ends): blocking usock", [](const plan& q) { return usock_blocking::churn(q.s); },
         churn},
        {"churn, per connection (both ends): usock asyncio", asyncio_churn, churn},
        {"churn, per connection (both ends): Asio awaitables", asio_churn, churn},
        {"lines, per 1,000 lines (reader): blocking usock readline(line)",
         [](const plan& q) { return usock_blocking::lines_reusing(q.s); }, lines},
        {"lines, per 1,000 lines (reader): usock asyncio readline(buf)", asyncio_lines, lines},
        {"lines, per 1,000 lines (reader): Asio awaitables", asio_lines, lines},
        {"echo, 1,000 connections, per message (server thread, accepts included): usock asyncio",
         echo_workload<asyncio_echo_server, 0>, echo},
        {"echo, 1,000 connections, per message (server thread, accepts included): Asio awaitables",
         echo_workload<asio_echo_server, 1>, echo},
        {"echo, 1,000 connections, timeout on every read, per message (server thread): usock asyncio wait_for",
         echo_workload<asyncio_echo_server, 0, true>, echo},
        {"echo, 1,000 connections, timeout on every read, per message (server thread): Asio read || timer",
         echo_workload<asio_echo_server, 1, true>, echo},
    };
    bool counted = true;
    std::string table;
    for (const probe& pr : probes) {
      counter.start();
      try {
        (void)pr.fn(p);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "usock_bench_asyncio: syscalls, %s: %s\n", pr.what, ex.what());
        return 2;
      }
      const auto [calls, waits] = counter.stop();
      if (calls < 0) {
        counted = false;
        break;
      }
      const double rt = pr.per == pingpong ? static_cast<double>(p.s.pingpong_rounds)
                        : pr.per == churn  ? static_cast<double>(p.s.churn_connections)
                        : pr.per == echo   ? static_cast<double>(p.echo.connections * (p.echo.rounds + 1))
                                           : static_cast<double>(p.s.lines) / 1000;
      char buf[256];
      std::snprintf(buf, sizeof buf, "| %s | %.3f | %.3f |\n", pr.what, static_cast<double>(calls) / rt,
                    static_cast<double>(waits) / rt);
      table += buf;
    }
    if (counted) {
      std::printf("| system calls on the measuring thread, the whole workload (%zu round trips, %zu connections, %zu "
                  "lines), per operation | all | waits among them |\n|---|---:|---:|\n%s\n",
                  p.s.pingpong_rounds, p.s.churn_connections, p.s.lines, table.c_str());
    } else {
      std::printf("System calls not counted: tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing).\n\n");
    }
  }

  // ---- 10,000 connections on one loop thread: zero errors, no allocation per message ----
  struct c10k_result {
    bool ran = false;
    std::string error;
    double allocations_per_message = NAN;
    std::size_t allocations = 0, messages = 0;
  } big;
  if (wanted(opt.only, "c10k")) {
    echo_plan ep;
    ep.connections = opt.c10k;
    ep.rounds = scaled(20, opt.scale);
    if (descriptors < ep.connections + 64) {
      std::printf("10,000 connections: not run: RLIMIT_NOFILE is %llu\n\n", static_cast<unsigned long long>(descriptors));
      big.error = "descriptor limit";
    } else {
      const echo_outcome o = run_echo(asyncio_echo_server, ep, std::chrono::seconds(180));
      big.ran = true;
      big.error = o.error;
      big.allocations = o.job.window.total();
      big.messages = o.job.window_messages();
      big.allocations_per_message = static_cast<double>(big.allocations) / static_cast<double>(big.messages);
      std::printf("| %zu connections on one asyncio loop thread, %zu round trips of %zu bytes each after a warm-up one "
                  "| figure |\n|---|---:|\n",
                  ep.connections, ep.rounds, echo_plan::message);
      std::printf("| errors | %s |\n", o.error.empty() ? "0" : o.error.c_str());
      std::printf("| connections accepted | %zu |\n", o.job.accepted);
      std::printf("| round trips per second (client process's time) | %.0f |\n",
                  o.seconds > 0 ? static_cast<double>(ep.connections * ep.rounds) / o.seconds : 0.0);
      std::printf("| heap allocations on the loop thread in the steady state (%zu messages) | %zu (%zu new, %zu malloc) |\n",
                  big.messages, big.allocations, o.job.window.news, o.job.window.mallocs);
      std::printf("| allocations per message | %.4f |\n\n", big.allocations_per_message);
    }
  }

  std::printf("| goal | measured | quartiles | target | met |\n|---|---:|---|---|---|\n");
  bool all_met = true;
  for (const goal& g : goals) {
    std::printf("| %s | %.3f | %.3f .. %.3f | >= %.2f | %s |\n", g.text.c_str(), g.measured.median, g.measured.low,
                g.measured.high, g.target, g.met() ? "yes" : "**no**");
    all_met = all_met && g.met();
  }
  if (wanted(opt.only, "c10k")) {
    const bool ok_errors = big.ran && big.error.empty();
    const bool ok_alloc = ok_errors && big.allocations == 0;
    std::printf("| %zu connections on one loop thread: errors | %s | | 0 | %s |\n", opt.c10k,
                ok_errors ? "0" : (big.error.empty() ? "not run" : big.error.c_str()), ok_errors ? "yes" : "**no**");
    if (ok_errors)
      std::printf("| %zu connections: heap allocations per message in the steady state | %.4f | | 0 | %s |\n", opt.c10k,
                  big.allocations_per_message, ok_alloc ? "yes" : "**no**");
    all_met = all_met && ok_alloc;
    failed = failed || !ok_errors;
  }
  std::printf("\nmeasured: the median over the rounds of the per-round speed ratio (wall clock); quartiles: of those "
              "ratios. Judged on the median.\n");
  std::fflush(stdout);
  if (failed) return 2;
  return all_met || !opt.check ? 0 : 1;
}

}  // namespace usock_bench

int main(int argc, char** argv) { return usock_bench::run(argc, argv); }
