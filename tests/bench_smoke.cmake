# bench_smoke.cmake - the benchmark suite as a ctest smoke test (label
# `bench`): bench/run.sh --quick on the binaries of this build tree, every
# benchmark briefly, results and report written under this build tree.
# It fails when a benchmark is missing, errors, or a step of the run
# breaks; it asserts nothing about speed.  Only with -DSR_BUILD_BENCH=ON,
# so a default test build needs neither C++ nor google-benchmark.
if(SR_BUILD_BENCH)
  add_test(NAME bench_smoke
    COMMAND ${PROJECT_SOURCE_DIR}/bench/run.sh --quick --no-build
            --build-dir ${CMAKE_BINARY_DIR}
            --results ${CMAKE_CURRENT_BINARY_DIR}/bench-smoke/results.json
            --docs ${CMAKE_CURRENT_BINARY_DIR}/bench-smoke/benchmarks.md)
  # Alone: it starts servers, an LTTng session and uses both cores.
  set_tests_properties(bench_smoke PROPERTIES LABELS bench TIMEOUT 900 RUN_SERIAL TRUE)
endif()
