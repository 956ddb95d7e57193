# otlp_grpc.cmake - what the OTLP/gRPC tests need: a Python 3 that can
# import grpc (Debian python3-grpcio) to run the test receiver
# (tests/receiver/grpc_receiver.py, a real gRPC server), and the small C
# library that spawns and drives it.  The first python3 on PATH is tried,
# then the system one (a PATH python3 from a version manager does not see
# Debian's packages).
set(SR_GRPC_RECEIVER ${CMAKE_CURRENT_SOURCE_DIR}/receiver/grpc_receiver.py)
find_program(SR_PYTHON3_PATH python3)
set(SR_GRPC_PYTHON "")
foreach(py ${SR_PYTHON3_PATH} /usr/bin/python3)
  if(py AND NOT SR_GRPC_PYTHON)
    execute_process(COMMAND ${py} -c "import grpc"
      RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
    if(rc EQUAL 0)
      set(SR_GRPC_PYTHON ${py})
    endif()
  endif()
endforeach()
if(NOT SR_GRPC_PYTHON)
  message(FATAL_ERROR "no python3 can import grpc: apt-get install python3-grpcio")
endif()
find_program(SR_OPENSSL openssl)
if(NOT SR_OPENSSL)
  message(FATAL_ERROR "openssl not found: apt-get install openssl")
endif()

add_library(sr_grpc_receiver STATIC ${CMAKE_CURRENT_SOURCE_DIR}/receiver/grpc_rcv.c)
target_include_directories(sr_grpc_receiver PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/receiver)
target_compile_definitions(sr_grpc_receiver PRIVATE _GNU_SOURCE
  SR_GRPC_PYTHON="${SR_GRPC_PYTHON}" SR_GRPC_RECEIVER="${SR_GRPC_RECEIVER}")

if(TARGET test_otlp_grpc)
  target_link_libraries(test_otlp_grpc PRIVATE sr_grpc_receiver sr_receiver)
  target_compile_definitions(test_otlp_grpc PRIVATE SR_OPENSSL="${SR_OPENSSL}")
  # Up to a few export deadlines per case, a dozen cases.
  set_tests_properties(test_otlp_grpc PROPERTIES TIMEOUT 300)
endif()

# fuzz_grpc: grpc-status-details-bin, status trailers, response framing.
if(SR_BUILD_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  include(${CMAKE_CURRENT_SOURCE_DIR}/fuzz_common.cmake)
  sr_add_fuzz_target(fuzz_grpc ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_grpc.c
    ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/grpc)
endif()
