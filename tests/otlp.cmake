# otlp.cmake - what the OTLP exporter's tests need beyond sr_testutil:
# the scriptable HTTP receiver library (tests/receiver), jansson to parse
# JSON bodies with a real parser, and protoc to decode protobuf bodies with
# a real decoder (`protoc --decode_raw`).
sr_require_pkg(JANSSON jansson libjansson-dev)
find_program(SR_PROTOC protoc)
if(NOT SR_PROTOC)
  message(FATAL_ERROR "protoc not found: apt-get install protobuf-compiler")
endif()

add_library(sr_receiver STATIC ${CMAKE_CURRENT_SOURCE_DIR}/receiver/receiver.c)
target_include_directories(sr_receiver PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/receiver)
target_compile_definitions(sr_receiver PRIVATE _GNU_SOURCE)
target_link_libraries(sr_receiver PUBLIC PkgConfig::ZLIB Threads::Threads)

foreach(t test_otlp_encode test_otlp_faults)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE sr_receiver PkgConfig::JANSSON)
    target_compile_definitions(${t} PRIVATE SR_PROTOC="${SR_PROTOC}")
  endif()
endforeach()
