# cmake -DUSOCK_SOURCE_DIR=... -DCONSUMER=<name> -DWORK_DIR=... -DGENERATOR=... [-DMAKE_PROGRAM=...]
#       [-DCXX_COMPILER=...] [-DJOBS=<n>] -P run_consumer.cmake
#
# Configures, builds and runs the consumer project tests/packaging/<CONSUMER> in a fresh WORK_DIR. For the
# find_package consumer it first installs usock (configured on its own, tests and examples off) into
# WORK_DIR/prefix, and points the consumer there and nowhere else. Fails on the first step that fails.
cmake_minimum_required(VERSION 3.25)
foreach(var IN ITEMS USOCK_SOURCE_DIR CONSUMER WORK_DIR GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
  endif()
endforeach()

set(tool_options -G ${GENERATOR})
if(MAKE_PROGRAM)
  list(APPEND tool_options -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CXX_COMPILER)
  list(APPEND tool_options -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

# step(<what> <command>...): runs one command, failing the test when it fails or takes longer than a minute.
function(step what)
  message(STATUS "packaging ${CONSUMER}: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result TIMEOUT 60)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "packaging ${CONSUMER}: ${what} failed: ${result}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

set(consumer_options -DUSOCK_SOURCE_DIR=${USOCK_SOURCE_DIR})
if(CONSUMER STREQUAL "find_package")
  set(prefix ${WORK_DIR}/prefix)
  step("configure usock for installing" ${CMAKE_COMMAND} -S ${USOCK_SOURCE_DIR} -B ${WORK_DIR}/usock-build
       ${tool_options} -DUSOCK_BUILD_TESTS=OFF -DUSOCK_BUILD_EXAMPLES=OFF)
  step("install usock into ${prefix}" ${CMAKE_COMMAND} --install ${WORK_DIR}/usock-build --prefix ${prefix})
  # Only the fresh prefix: no user package registry, no usock that happens to be installed on the machine.
  list(APPEND consumer_options -DCMAKE_PREFIX_PATH=${prefix} -DUSOCK_EXPECTED_PREFIX=${prefix}
       -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
       -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF -DCMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH=OFF)
endif()

# The program lands in WORK_DIR/bin whatever the generator ($<0:> keeps multi-config ones from adding a Debug/).
step("configure the consumer" ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/${CONSUMER} -B ${WORK_DIR}/build
     ${tool_options} ${consumer_options} "-DCMAKE_RUNTIME_OUTPUT_DIRECTORY=${WORK_DIR}/bin$<0:>")
if(NOT JOBS)
  set(JOBS 1)
endif()
step("build the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/build --parallel ${JOBS})
step("run the consumer" ${WORK_DIR}/bin/consumer)
