# cxx.cmake - the C++ API (<spanring/spanring.hpp>) with each C++ compiler
# found (g++, clang++), at -std=c++17 -Wall -Wextra -Wpedantic -Werror:
#   cxx_api_<c>           test_cxx_api.cc built and run against the library
#   cxx_api_<c>_noexcept  the same with -fno-exceptions
#   cxx_api_<c>_no_inline the same with SR_NO_INLINE (no fast paths)
#   cxx_api_<c>_cxx20     the same as C++20 (std::span arrays)
#   cxx_static_keys_<c>   static_keys.cc: the misuses must not compile
#   semconv_c, semconv_<c> <spanring/semconv.h> names as C and C++ keys
# In sanitizer builds the programs get the same sanitizers, and only the
# compiler of the library's own family runs them (two runtimes would clash).
find_program(SR_GXX g++)
find_program(SR_CLANGXX clang++)
set(cxx_dir ${CMAKE_CURRENT_SOURCE_DIR}/cxx)
set(inc ${PROJECT_SOURCE_DIR}/core/include)
foreach(c gxx clangxx)
  if(c STREQUAL gxx)
    set(exe ${SR_GXX})
  else()
    set(exe ${SR_CLANGXX})
  endif()
  if(NOT exe)
    continue()
  endif()
  add_test(NAME cxx_static_keys_${c}
    COMMAND sh ${cxx_dir}/compile_fail.sh ${exe} ${inc} ${cxx_dir}/static_keys.cc 9)
  set_tests_properties(cxx_static_keys_${c} PROPERTIES LABELS "unit")
  add_test(NAME semconv_${c}
    COMMAND ${exe} -std=c++17 -Wall -Wextra -Wpedantic -Werror -I${inc}
            -fsyntax-only -x c++ ${cxx_dir}/semconv_use.c)
  set_tests_properties(semconv_${c} PROPERTIES LABELS "unit")
  if(SR_SAN_FLAGS AND NOT (c STREQUAL gxx AND CMAKE_C_COMPILER_ID STREQUAL "GNU")
     AND NOT (c STREQUAL clangxx AND CMAKE_C_COMPILER_ID STREQUAL "Clang"))
    continue()
  endif()
  foreach(v "" _noexcept _no_inline _cxx20)
    set(flags ${SR_SAN_FLAGS})
    if(v STREQUAL _noexcept)
      list(APPEND flags -fno-exceptions)
    elseif(v STREQUAL _no_inline)
      list(APPEND flags -DSR_NO_INLINE)
    elseif(v STREQUAL _cxx20)
      list(APPEND flags -std=c++20)
    endif()
    add_test(NAME cxx_api_${c}${v}
      COMMAND sh ${cxx_dir}/build_run.sh ${exe} ${inc} $<TARGET_FILE_DIR:spanring>
              ${cxx_dir}/test_cxx_api.cc ${CMAKE_CURRENT_BINARY_DIR}/cxx_api_${c}${v}
              ${flags})
    set_tests_properties(cxx_api_${c}${v} PROPERTIES LABELS "unit" TIMEOUT 120)
  endforeach()
endforeach()

add_test(NAME semconv_c
  COMMAND ${CMAKE_C_COMPILER} -std=c11 -Wall -Wextra -Wpedantic -Werror -I${inc}
          -fsyntax-only ${cxx_dir}/semconv_use.c)
set_tests_properties(semconv_c PROPERTIES LABELS "unit")

# The C++ example runs and its output shows what it traced.
if(TARGET spanring-cxx-server)
  add_test(NAME cxx_example
    COMMAND sh ${cxx_dir}/example_test.sh $<TARGET_FILE:spanring-cxx-server>)
  set_tests_properties(cxx_example PROPERTIES LABELS "unit;example" TIMEOUT 120)
endif()
