// usock::error_code: built twice, once as std::error_code (hosted, USOCK_STD_ERROR_CODE 1) and once as usock's
// own firmware class (USOCK_STD_ERROR_CODE 0). The same code compiling and passing in both builds is the promise
// that code written on a desktop builds unchanged for a board.
#include <string>
#include <system_error>
#include <type_traits>

#include <usock/error.hpp>

#include "catch.hpp"

namespace {

// What a caller writes: the same text for both types.
int classify(const usock::error_code& ec) {
  if (!ec) return 0;
  if (ec == std::errc::timed_out) return 1;
  if (std::errc::connection_refused == ec) return 2;
  if (ec != std::errc::bad_file_descriptor) return 3;
  return 4;
}

}  // namespace

TEST_CASE("error_code: the type the build chose", "[error_code]") {
  constexpr bool is_std = std::is_same_v<usock::error_code, std::error_code>;
  CHECK(is_std == (USOCK_STD_ERROR_CODE != 0));
#if !USOCK_STD_ERROR_CODE
  static_assert(sizeof(usock::error_code) == sizeof(int), "the firmware error code is one int");
  static_assert(std::is_trivially_copyable_v<usock::error_code>);
#endif
}

TEST_CASE("error_code: no error, then an error, compared with std::errc both ways", "[error_code]") {
  usock::error_code ec;
  CHECK_FALSE(ec);
  CHECK(!ec);
  CHECK(ec.value() == 0);
  CHECK(classify(ec) == 0);

  ec = usock::detail::make_error(std::errc::timed_out);
  CHECK(static_cast<bool>(ec));
  CHECK(ec.value() == static_cast<int>(std::errc::timed_out));
  CHECK(ec == std::errc::timed_out);
  CHECK(std::errc::timed_out == ec);
  CHECK(ec != std::errc::connection_refused);
  CHECK(std::errc::connection_refused != ec);
  CHECK(classify(ec) == 1);
  CHECK(classify(usock::detail::make_error(std::errc::connection_refused)) == 2);
  CHECK(classify(usock::detail::make_error(std::errc::broken_pipe)) == 3);
  CHECK(classify(usock::detail::make_error(std::errc::bad_file_descriptor)) == 4);
  CHECK(usock::detail::is(ec, std::errc::timed_out));
  CHECK_FALSE(usock::detail::is(ec, std::errc::broken_pipe));

  const usock::error_code same = ec;
  CHECK(same == ec);
  CHECK(same != usock::detail::make_error(std::errc::broken_pipe));

  ec.clear();
  CHECK_FALSE(ec);
  CHECK(ec == usock::error_code{});
}

TEST_CASE("error_code: message() names the error, and a std::error_code says the same", "[error_code]") {
  const usock::error_code ec = usock::detail::make_error(std::errc::connection_refused);
  const std::string text = ec.message();  // a std::string on a host, a const char* on a board
  CHECK(text.find("refused") != std::string::npos);
  CHECK(std::string(usock::error_code{}.message()).size() > 0);
  const std::error_code as_std(ec);
  CHECK(as_std == std::errc::connection_refused);
  CHECK(as_std.category() == std::generic_category());
}

#if USOCK_HAS_EXCEPTIONS
TEST_CASE("error_code: the throwing forms throw usock::error whose code() compares equal", "[error_code]") {
  const usock::error_code ec = usock::detail::make_error(std::errc::address_in_use);
  try {
    usock::detail::throw_if(ec, "bind");
    FAIL("throw_if did not throw");
  } catch (const usock::error& e) {
    CHECK(e.code() == std::errc::address_in_use);
    CHECK(std::string(e.what()).find("bind") != std::string::npos);
  }
  CHECK_NOTHROW(usock::detail::throw_if(usock::error_code{}, "bind"));
}
#endif
