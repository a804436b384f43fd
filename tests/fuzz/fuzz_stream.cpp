// libFuzzer target: the reading calls (recv, readinto, read(n), read(), readline) and the sending calls (send,
// sendall, write) over the scripted backend, with the fuzzer's input choosing the peer's bytes, the script of
// short counts, EAGAIN, ECONNRESET, ENOMEM, EOF and early wake-ups, the timeout mode and the calls. The checks
// are the models of tests/scripted/models.hpp: every byte conserved, in order, and every call reporting what it did.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "models.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  usock_test::model::byte_choices choices{data, size};
  const bool sends = choices.pick(2) == 1;
  const std::string problem =
      sends ? usock_test::model::check_sends(choices) : usock_test::model::check_reads(choices);
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_stream (%s): %s\n", sends ? "sends" : "reads", problem.c_str());
    std::abort();
  }
  return 0;
}
