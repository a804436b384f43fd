// usock_bench: each workload of issue 5 run by each contender in the same process, alternating, for several
// rounds; prints the medians, the ratios and whether each goal is met, as markdown tables.
//
//   usock_bench [--rounds N] [--scale F] [--only bulk,pingpong,churn,lines,compile] [--contenders a,b]
//               [--no-check]
//
// --contenders takes names as the table prints them, alone (usock: on every stack) or after their stack
// (lwIP/usock).
//
// USOCK_BENCH_ROUNDS and USOCK_BENCH_SCALE set the same as the flags. --scale 0.01 runs every workload at 1 %
// of its size (quick runs); the defaults are the sizes. Exit status: 0 when every goal measured is met
// (or --no-check), 1 when one is missed, 2 on a usage error or a workload that failed.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "contenders.hpp"

extern char** environ;

namespace usock_bench {

std::string make_lines(std::size_t n) {
  std::string text(n * sizes::line_length, '.');
  for (std::size_t i = 0; i < n; ++i) {
    char* line = text.data() + i * sizes::line_length;
    const int k = std::snprintf(line, sizes::line_length, "line %08zu ", i);
    line[k] = ' ';  // snprintf's terminator
    line[sizes::line_length - 2] = static_cast<char>('0' + i % 10);
    line[sizes::line_length - 1] = '\n';
  }
  return text;
}

bool line_tally::matches(const sizes& s) const noexcept {
  std::size_t expected = 0;
  for (std::size_t i = 0; i < s.lines; ++i) expected += static_cast<unsigned char>('0' + i % 10);
  return count == s.lines && bytes == s.lines * sizes::line_length && checksum == expected;
}

namespace {

enum workload_id { bulk, pingpong, churn, lines, workload_count };
constexpr const char* workload_names[] = {"bulk", "pingpong", "churn", "lines"};
constexpr const char* workload_titles[] = {"bulk stream, sendall 64 KiB chunks", "ping-pong, 1 byte, TCP_NODELAY",
                                           "connection churn", "small messages, readline"};

workload_fn entry(const contender& c, int w) {
  switch (w) {
    case bulk: return c.bulk;
    case pingpong: return c.pingpong;
    case churn: return c.churn;
    default: return c.lines;
  }
}

/// A contender in one group of the table: the contenders of a group run on the same stack, and `baseline` is
/// the plain-C one the ratios are taken against.
struct entry_t {
  contender c;
  std::string group;
  bool baseline;
  std::vector<double> seconds[workload_count];
};

struct options {
  int rounds = 7;
  double scale = 1.0;
  std::vector<std::string> only;
  std::vector<std::string> contenders;
  bool check = true;
};

std::vector<std::string> split(std::string_view list, char separator = ',') {
  std::vector<std::string> out;
  while (!list.empty()) {
    const std::size_t at = list.find(separator);
    if (at != 0) out.emplace_back(list.substr(0, at));
    list = at == std::string_view::npos ? std::string_view{} : list.substr(at + 1);
  }
  return out;
}

bool wanted(const std::vector<std::string>& list, std::string_view name) {
  return list.empty() || std::find(list.begin(), list.end(), name) != list.end();
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/// How much faster `a` ran workload `w` than `b`: the median over the rounds of b's time / a's time in the same
/// round. Pairing by round cancels the drift of a machine shared with other work.
double paired_speed(const entry_t& a, const entry_t& b, int w) {
  std::vector<double> r;
  for (std::size_t i = 0; i < a.seconds[w].size() && i < b.seconds[w].size(); ++i)
    r.push_back(b.seconds[w][i] / a.seconds[w][i]);
  return median(std::move(r));
}

std::size_t scaled(std::size_t n, double scale) {
  return std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(static_cast<double>(n) * scale)));
}

sizes make_sizes(double scale) {
  sizes s;
  s.bulk_bytes = scaled(s.bulk_bytes / s.bulk_chunk, scale) * s.bulk_chunk;
  s.pingpong_rounds = scaled(s.pingpong_rounds, scale);
  s.churn_connections = scaled(s.churn_connections, scale);
  s.lines = scaled(s.lines, scale);
  return s;
}

/// What a workload's time means to a reader: a rate (higher is better) or a time per operation.
struct metric {
  double value;
  const char* unit;
};
metric to_metric(int w, double seconds, const sizes& s) {
  switch (w) {
    case bulk: return {static_cast<double>(s.bulk_bytes) / seconds / (1 << 30), "GiB/s"};
    case pingpong: return {seconds / static_cast<double>(s.pingpong_rounds) * 1e6, "us/round trip"};
    case churn: return {static_cast<double>(s.churn_connections) / seconds, "connections/s"};
    default: return {static_cast<double>(s.lines) / seconds / 1e6, "M lines/s"};
  }
}

// ---- compile cost -------------------------------------------------------------------------------------------

/// The CPU seconds (user + system, of the compiler driver and everything it ran) that running `args` to
/// completion took, or NaN if it failed. CPU time, not wall time, so that other work on the machine counts less.
double cpu_seconds_of(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return NAN;
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return NAN;
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::vector<std::string> compile_command(const char* source) {
  std::vector<std::string> args{USOCK_BENCH_CXX};
  for (const std::string& flag : split(USOCK_BENCH_CXX_FLAGS, ' ')) args.push_back(flag);
  args.insert(args.end(), {"-I" USOCK_BENCH_INCLUDE_DIR, "-c", std::string(USOCK_BENCH_COMPILE_DIR "/") + source,
                           "-o", "/dev/null"});
  return args;
}

// ---- the goals ------------------------------------------------------------------------------------------------

struct goal_result {
  std::string text;
  double measured;
  double target;
  bool at_least;  // measured must be >= target (else <=)
  bool met() const { return at_least ? measured >= target : measured <= target; }
};

void print_machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::printf("machine: %u CPUs (%s); compiler: %s\n", std::thread::hardware_concurrency(), model.c_str(),
              USOCK_BENCH_CXX_ID);
}

int usage() {
  std::fprintf(stderr,
               "usage: usock_bench [--rounds N] [--scale F] [--only bulk,pingpong,churn,lines,compile]\n"
               "                   [--contenders NAME,...] [--no-check]\n");
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
    else if (a == "--no-check") opt.check = false;
    else return usage();
  }
  if (opt.rounds < 1 || !(opt.scale > 0)) return usage();

  std::vector<entry_t> entries;
  auto add = [&](contender c, const char* group, bool baseline) {
    if (wanted(opt.contenders, c.name) || wanted(opt.contenders, std::string(group) + "/" + c.name))
      entries.push_back({c, group, baseline, {}});
  };
  add(usock_posix_contender(), "POSIX", false);
  if (const contender c = usock_posix_reusing_contender(); c.lines) add(c, "POSIX", false);
  add(plain_posix_contender(), "POSIX", true);
  add(asio_contender(), "POSIX", false);
#if USOCK_BENCH_HAVE_LWIP
  add(usock_lwip_contender(), "lwIP", false);
  add(plain_lwip_contender(), "lwIP", true);
#endif

  sizes s = make_sizes(opt.scale);
  const std::string line_data = make_lines(s.lines);
  s.line_data = &line_data;
  sizes warm = make_sizes(opt.scale / 20);
  const std::string warm_lines = make_lines(warm.lines);
  warm.line_data = &warm_lines;

  print_machine();
  std::printf("rounds: %d, scale: %g (bulk %zu MiB, ping-pong %zu rounds, churn %zu connections, %zu lines)\n\n",
              opt.rounds, opt.scale, s.bulk_bytes >> 20, s.pingpong_rounds, s.churn_connections, s.lines);
  std::fflush(stdout);

  // Every contender runs every workload once, unrecorded, then the rounds; within a round each workload runs
  // every contender in turn, starting one further along each round, so no contender always goes first.
  for (int round = -1; round < opt.rounds; ++round) {
    for (int w = 0; w < workload_count; ++w) {
      if (!wanted(opt.only, workload_names[w])) continue;
      for (std::size_t k = 0; k < entries.size(); ++k) {
        entry_t& e = entries[(k + static_cast<std::size_t>(round + 1)) % entries.size()];
        const workload_fn fn = entry(e.c, w);
        if (!fn) continue;
        try {
          const double t = fn(round < 0 ? warm : s);
          if (round >= 0) e.seconds[w].push_back(t);
        } catch (const std::exception& ex) {
          std::fprintf(stderr, "usock_bench: %s, %s: %s\n", e.c.name, workload_names[w], ex.what());
          return 2;
        }
      }
    }
    if (round >= 0) std::fprintf(stderr, "round %d of %d done\n", round + 1, opt.rounds);
  }

  std::vector<goal_result> goals;
  auto find = [&](const std::string& group, const char* name) -> entry_t* {
    for (entry_t& e : entries)
      if (e.group == group && std::strcmp(e.c.name, name) == 0) return &e;
    return nullptr;
  };

  auto baseline_of = [&](const std::string& group) -> entry_t* {
    for (entry_t& e : entries)
      if (e.group == group && e.baseline) return &e;
    return nullptr;
  };

  // ---- the table ----
  bool any_workload = false;
  for (const entry_t& e : entries)
    for (const auto& runs : e.seconds) any_workload = any_workload || !runs.empty();
  if (any_workload) std::printf("| workload | stack | contender | median | unit | min .. max | vs plain | vs Asio |\n");
  if (any_workload) std::printf("|---|---|---|---:|---|---|---:|---:|\n");
  for (int w = 0; w < workload_count; ++w) {
    for (entry_t& e : entries) {
      if (e.seconds[w].empty()) continue;
      const double t = median(e.seconds[w]);
      const metric m = to_metric(w, t, s);
      const auto [lo, hi] = std::minmax_element(e.seconds[w].begin(), e.seconds[w].end());
      const metric m_lo = to_metric(w, *lo, s), m_hi = to_metric(w, *hi, s);
      auto ratio = [&](const entry_t* o) -> std::string {
        if (!o || o == &e || o->seconds[w].empty()) return "";
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", paired_speed(e, *o, w));
        return buf;
      };
      std::printf("| %s | %s | %s | %.4g | %s | %.4g .. %.4g | %s | %s |\n", workload_titles[w], e.group.c_str(),
                  e.c.name, m.value, m.unit, std::min(m_lo.value, m_hi.value), std::max(m_lo.value, m_hi.value),
                  e.baseline ? "1" : ratio(baseline_of(e.group)).c_str(), ratio(find(e.group, "Asio")).c_str());
    }
  }
  if (any_workload)
    std::printf("\nRatios are speed ratios, above 1 is faster: in each round the other contender's time / this one's, run\n"
              "back to back, and the median of those over the rounds. \"vs plain\" is against the plain-C contender\n"
              "on the same stack.\n");
  if (any_workload)
    std::printf("For lines, plain C is a hand-written buffered reader (8 KiB buffer, memchr, copy into a line).\n\n");

  // ---- the goals ----
  auto speed = [&](int w, const char* group, const char* a, const char* b) -> double {
    const entry_t* x = find(group, a);
    const entry_t* y = find(group, b);
    if (!x || !y || x->seconds[w].empty() || y->seconds[w].empty()) return NAN;
    return paired_speed(*x, *y, w);
  };
  auto add_goal = [&](std::string text, double measured, double target, bool at_least) {
    if (!std::isnan(measured)) goals.push_back({std::move(text), measured, target, at_least});
  };
  add_goal("bulk: usock throughput / plain C", speed(bulk, "POSIX", "usock", "plain C"), 0.97, true);
  add_goal("ping-pong: usock time / plain C", 1 / speed(pingpong, "POSIX", "usock", "plain C"), 1.03, false);
  add_goal("churn: usock time / plain C", 1 / speed(churn, "POSIX", "usock", "plain C"), 1.05, false);
  add_goal("lines: usock readline() rate / buffered C reader", speed(lines, "POSIX", "usock", "plain C"), 0.9,
           true);
  add_goal("lines: usock readline(line) rate / buffered C reader",
           speed(lines, "POSIX", "usock readline(line)", "plain C"), 0.9, true);
  for (int w = 0; w < workload_count; ++w)
    add_goal(std::string(workload_names[w]) + ": usock speed / Asio", speed(w, "POSIX", "usock", "Asio"), 1.0,
             true);

  for (int w : {bulk, pingpong, churn})
    add_goal(std::string("lwIP ") + workload_names[w] + ": usock speed / plain lwip_*",
             speed(w, "lwIP", "usock", "plain lwip_*"), 0.95, true);

  if (wanted(opt.only, "compile")) {
    std::vector<double> usock_t, asio_t, ratios;
    const auto usock_cmd = compile_command("usock_client.cpp"), asio_cmd = compile_command("asio_client.cpp");
    for (int round = 0; round < opt.rounds; ++round) {
      usock_t.push_back(cpu_seconds_of(usock_cmd));
      asio_t.push_back(cpu_seconds_of(asio_cmd));
      ratios.push_back(usock_t.back() / asio_t.back());
    }
    const double ratio = median(ratios);
    if (std::isnan(ratio)) {
      std::fprintf(stderr, "usock_bench: a compile-cost probe failed to compile\n");
      return 2;
    }
    std::printf("| compile cost: CPU seconds, %s %s | median |\n|---|---:|\n", USOCK_BENCH_CXX_ID,
                USOCK_BENCH_CXX_FLAGS);
    std::printf("| TU including <usock/usock.hpp> (compile/usock_client.cpp) | %.3f |\n", median(usock_t));
    std::printf("| TU including <asio.hpp> (compile/asio_client.cpp) | %.3f |\n", median(asio_t));
    std::printf("| usock / Asio (median of per-round ratios) | %.3f |\n\n", ratio);
    add_goal("compile: usock TU time / Asio TU", ratio, 1.0 / 3, false);
  }

  bool all_met = true;
  std::printf("| goal | measured | target | met |\n|---|---:|---|---|\n");
  for (const goal_result& g : goals) {
    std::printf("| %s | %.3f | %s %.3f | %s |\n", g.text.c_str(), g.measured, g.at_least ? ">=" : "<=", g.target,
                g.met() ? "yes" : "**no**");
    all_met = all_met && g.met();
  }
  std::fflush(stdout);
  return all_met || !opt.check ? 0 : 1;
}

}  // namespace usock_bench

int main(int argc, char** argv) { return usock_bench::run(argc, argv); }
