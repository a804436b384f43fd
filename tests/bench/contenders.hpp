#pragma once
// Every contender the benchmark knows, each defined in its own translation unit.
#include "bench.hpp"

namespace usock_bench {

contender usock_posix_contender();  ///< usock on the POSIX backend
/// usock's `readline(std::string&)` on the POSIX backend (lines only); its `lines` is null where usock lacks it.
contender usock_posix_reusing_contender();
contender plain_posix_contender();  ///< plain C on the POSIX calls, and the buffered C line reader
contender asio_contender();         ///< standalone Asio's synchronous API
#if USOCK_BENCH_HAVE_LWIP
contender usock_lwip_contender();  ///< usock on the lwIP socket-API backend, lwIP in this process
contender plain_lwip_contender();  ///< plain C on lwip_* calls, lwIP in this process
#endif

}  // namespace usock_bench
