#pragma once
// Which backend this build of the shared suite runs on: the build defines USOCK_TEST_BACKEND_HEADER, a header
// that provides usock_test::backend, usock_test::backend_name and usock_test::environment.
#ifndef USOCK_TEST_BACKEND_HEADER
#error "define USOCK_TEST_BACKEND_HEADER, e.g. \"posix_backend.hpp\""
#endif
#include USOCK_TEST_BACKEND_HEADER
