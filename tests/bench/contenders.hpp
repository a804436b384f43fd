#pragma once
// Every contender the benchmark knows, each defined in its own translation unit.
#include "bench.hpp"

namespace usock_bench {

contender usock_posix_contender();  ///< usock on the POSIX backend
contender plain_posix_contender();  ///< plain C on the POSIX calls, and the buffered C line reader
contender asio_contender();         ///< standalone Asio's synchronous API

}  // namespace usock_bench
