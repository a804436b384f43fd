#pragma once
// The one place that knows which Catch2 is installed: v3 (split headers) or v2 (Debian 12's single header).
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_session.hpp>
#include <catch2/catch_test_macros.hpp>
#define USOCK_CATCH_V3 1
#else
#include <catch2/catch.hpp>
#define USOCK_CATCH_V3 0
#endif
