# flight.cmake - the crash flight recorder's tests (tests/flight/): a child
# process crashes under load and the built spanring-recover must give its
# spans back; plus the fuzz target of the recording reader (its corpus in
# tests/fuzz/corpus/flight), built only with SR_BUILD_FUZZ=ON and clang.
add_executable(test_flight_crash ${CMAKE_CURRENT_LIST_DIR}/flight/test_flight_crash.c)
target_link_libraries(test_flight_crash PRIVATE sr_testutil sr_receiver)
target_compile_definitions(test_flight_crash PRIVATE
  SR_RECOVER="$<TARGET_FILE:spanring-recover>")
add_dependencies(test_flight_crash spanring-recover)
add_test(NAME test_flight_crash COMMAND test_flight_crash)
set_tests_properties(test_flight_crash PROPERTIES LABELS "unit" TIMEOUT 300)

if(SR_BUILD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(STATUS "fuzz_flight: skipped, libFuzzer needs clang (CC=clang)")
  else()
    include(${CMAKE_CURRENT_LIST_DIR}/fuzz_common.cmake)
    sr_add_fuzz_target(fuzz_flight ${CMAKE_CURRENT_LIST_DIR}/fuzz/fuzz_flight.c
      ${CMAKE_CURRENT_LIST_DIR}/fuzz/corpus/flight)
  endif()
endif()
