# otlp.cmake - what the OTLP exporter's tests need beyond sr_testutil:
# the scriptable HTTP receiver library (tests/receiver), jansson to parse
# JSON bodies with a real parser, and protoc to decode protobuf bodies with
# a real decoder (`protoc --decode_raw`).  With SR_BUILD_FUZZ and clang,
# also fuzz_otlp (response bodies, header syntax, UTF-8/JSON escaping) with
# a corpus replay test; it links the `spanring_fuzz` library that the
# other fuzz files create, so this file is included after them.
find_program(SR_PROTOC protoc)
if(NOT SR_PROTOC)
  message(FATAL_ERROR "protoc not found: apt-get install protobuf-compiler")
endif()

add_library(sr_receiver STATIC ${CMAKE_CURRENT_SOURCE_DIR}/receiver/receiver.c)
target_include_directories(sr_receiver PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/receiver)
target_compile_definitions(sr_receiver PRIVATE _GNU_SOURCE)
target_link_libraries(sr_receiver PUBLIC PkgConfig::ZLIB Threads::Threads)

# protoc --decode_raw as a tree, for the tests that check bodies with it.
add_library(sr_protoc_tree STATIC ${CMAKE_CURRENT_SOURCE_DIR}/protoc_tree.c)
target_include_directories(sr_protoc_tree PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(sr_protoc_tree PRIVATE _GNU_SOURCE SR_PROTOC="${SR_PROTOC}")
target_link_libraries(sr_protoc_tree PUBLIC PkgConfig::CMOCKA)

foreach(t test_otlp_encode test_otlp_faults test_array_attrs test_otlp_metrics test_export_errors)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE sr_receiver sr_protoc_tree)
    target_compile_definitions(${t} PRIVATE SR_PROTOC="${SR_PROTOC}")
  endif()
endforeach()

if(SR_BUILD_FUZZ AND TARGET spanring_fuzz)
  add_executable(fuzz_otlp ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_otlp.c)
  target_compile_definitions(fuzz_otlp PRIVATE _GNU_SOURCE)
  target_compile_options(fuzz_otlp PRIVATE -fsanitize=fuzzer,address)
  target_link_options(fuzz_otlp PRIVATE -fsanitize=fuzzer,address)
  target_link_libraries(fuzz_otlp PRIVATE spanring_fuzz)
  set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz_work/otlp)
  file(MAKE_DIRECTORY ${work})
  add_test(NAME fuzz_otlp_corpus
    COMMAND fuzz_otlp -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/otlp)
  add_test(NAME fuzz_otlp_run COMMAND fuzz_otlp -max_total_time=20
    ${work} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/otlp)
  set_tests_properties(fuzz_otlp_corpus fuzz_otlp_run PROPERTIES LABELS "fuzz" TIMEOUT 120)
endif()
