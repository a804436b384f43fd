# The lwIP socket-API backend (include/usock/lwip.hpp): INTERFACE target usock::lwip on the lwIP that
# pkg-config finds (Debian: liblwip-dev, lwIP 2.1.3 built as the unix port). Sets USOCK_HAVE_LWIP.
#
# Firmware projects do not use this file: they link their own lwIP target and define USOCK_BACKEND_LWIP
# (docs/lwip.md shows how). The host harness usock_lwip_host (tests/lwip/host) is defined in tests/lwip.
set(USOCK_HAVE_LWIP OFF)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(USOCK_LWIP QUIET IMPORTED_TARGET lwip)
endif()

if(USOCK_LWIP_FOUND)
  add_library(usock_lwip INTERFACE)
  add_library(usock::lwip ALIAS usock_lwip)
  target_link_libraries(usock_lwip INTERFACE usock::usock PkgConfig::USOCK_LWIP)
  target_compile_definitions(usock_lwip INTERFACE USOCK_BACKEND_LWIP)
  set(USOCK_HAVE_LWIP ON)
  message(STATUS "usock: lwIP ${USOCK_LWIP_VERSION} found; building the lwIP socket-API backend (usock::lwip)")
else()
  message(STATUS "usock: lwIP not found by pkg-config, so the lwIP socket-API backend, its tests and its example "
                 "twins are not built (Debian: apt-get install liblwip-dev pkg-config)")
endif()
