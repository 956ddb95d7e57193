# processors.cmake - what the processor tests need beyond sr_testutil:
# the example processor plugin, loaded by path from a test that links
# spanring statically (so it exports its symbols, as plugin.c documents).
if(TARGET test_processors)
  set_target_properties(test_processors PROPERTIES ENABLE_EXPORTS ON)
  add_dependencies(test_processors spanring_example_processor)
  target_compile_definitions(test_processors PRIVATE
    SR_EXAMPLE_PROCESSOR="$<TARGET_FILE:spanring_example_processor>")
endif()
# test_prometheus parses GET /metrics with the Prometheus project's parser.
if(TARGET test_prometheus)
  target_compile_definitions(test_prometheus PRIVATE
    SR_PROM_CHECK="${CMAKE_CURRENT_SOURCE_DIR}/prom_check.py")
endif()
# fuzz_redact: the redact rule parser under libFuzzer (SR_BUILD_FUZZ, clang).
if(SR_BUILD_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  include(${CMAKE_CURRENT_LIST_DIR}/fuzz_common.cmake)
  sr_add_fuzz_target(fuzz_redact ${CMAKE_CURRENT_LIST_DIR}/fuzz/fuzz_redact.c
    ${CMAKE_CURRENT_LIST_DIR}/fuzz/corpus/redact)
endif()
