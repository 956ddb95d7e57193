# otlp.cmake - what the OTLP exporter's tests need beyond sr_testutil:
# the scriptable HTTP receiver library (tests/receiver), jansson to parse
# JSON bodies with a real parser, and protoc to decode protobuf bodies with
# a real decoder (`protoc --decode_raw`).  With SR_BUILD_FUZZ and clang,
# also fuzz_otlp (response bodies, header syntax, UTF-8/JSON escaping) with
# a corpus replay test and a 20 s run (fuzz_common.cmake).
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

foreach(t test_otlp_encode test_otlp_records test_otlp_faults test_array_attrs test_otlp_metrics test_export_errors)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE sr_receiver sr_protoc_tree)
    target_compile_definitions(${t} PRIVATE SR_PROTOC="${SR_PROTOC}")
  endif()
endforeach()

if(SR_BUILD_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  include(${CMAKE_CURRENT_SOURCE_DIR}/fuzz_common.cmake)
  sr_add_fuzz_target(fuzz_otlp ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_otlp.c
    ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/otlp)
endif()
