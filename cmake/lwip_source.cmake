# lwIP built from source for NO_SYS=1, for the raw-API backend (usock::lwip_raw).
#
# The backend itself never builds lwIP: a firmware project links its own. This file gives usock's tests (and
# anyone else who wants it) a way to build lwIP's core from a source tree:
#
#   usock_lwip_sources(<out-var> [LWIP_DIR <dir>] [IPV6])
#       the core, IPv4 (and IPv6) and Ethernet sources of the lwIP tree <dir> (default: USOCK_LWIP_SOURCE_DIR);
#   usock_add_lwip_library(<target> PORT_DIR <dir> [LWIP_DIR <dir>] [IPV6] [SOURCES <port sources>...])
#       a static library of those sources for the current toolchain, with <dir> (which holds lwipopts.h and
#       arch/cc.h) and lwIP's headers on its public include path; SOURCES adds the port's own files (sys_now()).
#
# The same functions serve the host build (tests/lwip_raw) and the Cortex-M4F build (tests/embedded, a separate
# CMake project with an arm-none-eabi toolchain file, which includes this file).
#
# Where the sources come from: USOCK_LWIP_DIR if set (every SDK ships an lwIP tree), else the tree that
# scripts/fetch-lwip.sh unpacks from Debian's source package (run at configure time when USOCK_FETCH_LWIP is on).
# USOCK_LWIP_SOURCE_DIR is the result, empty when there is none: then the targets that need it are skipped.
#
# Also defined: usock::lwip_raw, an INTERFACE target selecting the raw-API backend as usock::socket
# (USOCK_BACKEND_LWIP_RAW); the firmware adds its own lwIP library and include directories.

include_guard(GLOBAL)

set(USOCK_LWIP_DIR "" CACHE PATH "An lwIP source tree (the directory holding src/core) for the NO_SYS=1 builds")

function(usock_lwip_sources out)
  cmake_parse_arguments(arg "IPV6" "LWIP_DIR" "" ${ARGN})
  set(dir "${arg_LWIP_DIR}")
  if(NOT dir)
    set(dir "${USOCK_LWIP_SOURCE_DIR}")
  endif()
  if(NOT EXISTS "${dir}/src/core/tcp.c")
    message(FATAL_ERROR "usock_lwip_sources: no lwIP source tree at '${dir}'")
  endif()
  set(core init def dns inet_chksum ip mem memp netif pbuf stats sys tcp tcp_in tcp_out timeouts udp)
  set(ipv4 etharp icmp ip4 ip4_addr ip4_frag)
  set(ipv6 ethip6 icmp6 inet6 ip6 ip6_addr ip6_frag mld6 nd6)
  set(sources "${dir}/src/netif/ethernet.c")
  foreach(f IN LISTS core)
    list(APPEND sources "${dir}/src/core/${f}.c")
  endforeach()
  foreach(f IN LISTS ipv4)
    list(APPEND sources "${dir}/src/core/ipv4/${f}.c")
  endforeach()
  if(arg_IPV6)
    foreach(f IN LISTS ipv6)
      list(APPEND sources "${dir}/src/core/ipv6/${f}.c")
    endforeach()
  endif()
  set(${out} "${sources}" PARENT_SCOPE)
endfunction()

function(usock_add_lwip_library target)
  cmake_parse_arguments(arg "IPV6" "PORT_DIR;LWIP_DIR" "SOURCES" ${ARGN})
  if(NOT arg_PORT_DIR)
    message(FATAL_ERROR "usock_add_lwip_library: PORT_DIR (the directory with lwipopts.h and arch/cc.h) is required")
  endif()
  set(dir "${arg_LWIP_DIR}")
  if(NOT dir)
    set(dir "${USOCK_LWIP_SOURCE_DIR}")
  endif()
  set(ipv6)
  if(arg_IPV6)
    set(ipv6 IPV6)
  endif()
  usock_lwip_sources(sources LWIP_DIR "${dir}" ${ipv6})
  add_library(${target} STATIC ${sources} ${arg_SOURCES})
  # lwIP's headers are third-party code: SYSTEM keeps their warnings out of the code that includes them.
  target_include_directories(${target} SYSTEM PUBLIC "${arg_PORT_DIR}" "${dir}/src/include")
  set_target_properties(${target} PROPERTIES C_STANDARD 99 C_EXTENSIONS ON POSITION_INDEPENDENT_CODE OFF)
endfunction()

# Finding the sources: only for builds that need them (usock's own tests, or a project that set USOCK_LWIP_DIR).
set(USOCK_LWIP_SOURCE_DIR "")
if(USOCK_LWIP_DIR)
  if(EXISTS "${USOCK_LWIP_DIR}/src/core/tcp.c")
    set(USOCK_LWIP_SOURCE_DIR "${USOCK_LWIP_DIR}")
  else()
    message(WARNING "usock: USOCK_LWIP_DIR='${USOCK_LWIP_DIR}' holds no lwIP tree (src/core/tcp.c)")
  endif()
elseif(USOCK_BUILD_TESTS)
  option(USOCK_FETCH_LWIP "Fetch lwIP's sources with scripts/fetch-lwip.sh when USOCK_LWIP_DIR is not set" ON)
  if(USOCK_FETCH_LWIP)
    execute_process(COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/../scripts/fetch-lwip.sh"
                    OUTPUT_VARIABLE fetched ERROR_VARIABLE fetch_log RESULT_VARIABLE fetch_rc
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(fetch_rc EQUAL 0 AND EXISTS "${fetched}/src/core/tcp.c")
      set(USOCK_LWIP_SOURCE_DIR "${fetched}")
    else()
      string(STRIP "${fetch_log}" fetch_log)
      message(STATUS "usock: could not fetch lwIP's sources: ${fetch_log}")
    endif()
  endif()
endif()

if(USOCK_LWIP_SOURCE_DIR)
  message(STATUS "usock: lwIP sources for the NO_SYS=1 builds: ${USOCK_LWIP_SOURCE_DIR}")
elseif(USOCK_BUILD_TESTS)
  message(STATUS "usock: SKIPPING the lwip_raw, embedded and board tests: no lwIP source tree "
                 "(set USOCK_LWIP_DIR, or let scripts/fetch-lwip.sh fetch one: it needs apt-get and the network)")
endif()

if(TARGET usock AND NOT TARGET usock_lwip_raw)
  add_library(usock_lwip_raw INTERFACE)
  add_library(usock::lwip_raw ALIAS usock_lwip_raw)
  target_link_libraries(usock_lwip_raw INTERFACE usock)
  target_compile_definitions(usock_lwip_raw INTERFACE USOCK_BACKEND_LWIP_RAW=1)
endif()
