# fuzz_prop.cmake - libFuzzer targets for the propagation parsers
# (traceparent, tracestate, baggage, b3, jaeger), built only with
# SR_BUILD_FUZZ=ON and clang.  Each gets fuzz_<f>_corpus (replays
# tests/fuzz/corpus/<f> once) and fuzz_<f>_run (20 s), label fuzz; see
# fuzz_common.cmake.
if(SR_BUILD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(STATUS "fuzz_prop: skipped, libFuzzer needs clang (CC=clang)")
  else()
    include(${CMAKE_CURRENT_LIST_DIR}/fuzz_common.cmake)
    foreach(f traceparent tracestate baggage b3 jaeger)
      sr_add_fuzz_target(fuzz_${f} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_${f}.c
        ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${f})
    endforeach()
  endif()
endif()
