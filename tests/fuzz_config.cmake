# fuzz_config.cmake - libFuzzer target for the OTEL_* / SPANRING_* parsers
# (core/config.c, core/resource.c) and its ctest tests fuzz_config_corpus
# (replays tests/fuzz/corpus/config) and fuzz_config_run; see
# fuzz_common.cmake.  Built only with SR_BUILD_FUZZ=ON and clang.
if(SR_BUILD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(STATUS "fuzz_config: skipped, libFuzzer needs clang (CC=clang)")
  else()
    include(${CMAKE_CURRENT_LIST_DIR}/fuzz_common.cmake)
    sr_add_fuzz_target(fuzz_config ${CMAKE_CURRENT_LIST_DIR}/fuzz/fuzz_config.c
      ${CMAKE_CURRENT_LIST_DIR}/fuzz/corpus/config)
  endif()
endif()
