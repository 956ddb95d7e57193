# fuzz_common.cmake - what every libFuzzer target shares (include it from a
# fuzz_<area>.cmake; it may be included more than once).
#
#   spanring_fuzz   the library's sources compiled again with
#                   -fsanitize=fuzzer-no-link,address and the same
#                   definitions and include paths as the layers' object
#                   libraries (the fuzz targets are white-box):
#                   libFuzzer steers only by coverage of instrumented code.
#   sr_add_fuzz_target(name source seeds)
#                   the executable `name` (-fsanitize=fuzzer,address,
#                   linked to spanring_fuzz) and two ctest tests, label fuzz:
#                     <name>_corpus  replays the seed corpus once (-runs=0);
#                     <name>_run     fuzzes 20 s from the seeds, writing new
#                                    inputs and crashes into the build tree,
#                                    never into the source corpus.
# Callers check SR_BUILD_FUZZ and that the compiler is clang.
include_guard(GLOBAL)

if(NOT TARGET spanring_fuzz)
  add_library(spanring_fuzz STATIC ${SR_SOURCES})
  target_compile_definitions(spanring_fuzz PRIVATE
    $<TARGET_PROPERTY:sr_core,COMPILE_DEFINITIONS>)
  target_include_directories(spanring_fuzz
    PUBLIC ${SR_PUBLIC_INCLUDE_DIR} ${SR_INTERNAL_INCLUDE_DIRS}
    PRIVATE $<TARGET_PROPERTY:sr_core,INCLUDE_DIRECTORIES>)
  target_compile_options(spanring_fuzz PRIVATE
    -fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer)
  target_link_libraries(spanring_fuzz PUBLIC ${SR_PRIVATE_LIBS})
endif()

function(sr_add_fuzz_target name source seeds)
  add_executable(${name} ${source})
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address)
  target_link_libraries(${name} PRIVATE spanring_fuzz)

  set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz_work/${name})
  file(MAKE_DIRECTORY ${work})
  add_test(NAME ${name}_corpus COMMAND ${name} -runs=0 ${seeds})
  # The first directory receives new inputs; the seeds are only read.
  add_test(NAME ${name}_run COMMAND ${name} -max_total_time=20 -timeout=10
    -print_final_stats=1 -artifact_prefix=${work}/ ${work} ${seeds})
  set_tests_properties(${name}_corpus ${name}_run PROPERTIES
    LABELS "fuzz" TIMEOUT 120)
endfunction()
