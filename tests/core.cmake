# Build-level checks of the library as a user sees it: exported symbols,
# the public header alone in C and C++, and an outside project finding the
# installed library with find_package() and with pkg-config.

add_test(NAME exports_are_the_public_headers
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/check_symbols.sh $<TARGET_FILE:spanring>
          ${CMAKE_C_COMPILER} ${PROJECT_SOURCE_DIR}/core/include
          ${PROJECT_SOURCE_DIR}/core/spanring.sym)
set_tests_properties(exports_are_the_public_headers PROPERTIES LABELS "unit")

# Each public header alone, and the umbrella as an SR_NO_INLINE or
# SR_COMPILED_OUT application sees it, as C11 and as C++ (C++11, and
# C++17 with -Wpedantic) with g++ and with clang++, which also gets
# -Wold-style-cast: an application may build with any of these.
set(SR_HEADER_CHECKS
  alone header_alone.c ""
  static_alone header_static_alone.c ""
  no_inline header_alone.c -DSR_NO_INLINE
  compiled_out header_alone.c -DSR_COMPILED_OUT)
foreach(h exporter macros otlp propagation)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/header_${h}.c
    "#include <spanring/${h}.h>\nint header_${h}_alone(void);\nint header_${h}_alone(void) { return 0; }\n")
  list(APPEND SR_HEADER_CHECKS ${h}_alone ${CMAKE_CURRENT_BINARY_DIR}/header_${h}.c "")
endforeach()
find_program(SR_GXX g++)
find_program(SR_CLANGXX clang++)
while(SR_HEADER_CHECKS)
  list(POP_FRONT SR_HEADER_CHECKS name src def)
  if(NOT IS_ABSOLUTE ${src})
    set(src ${CMAKE_CURRENT_SOURCE_DIR}/header/${src})
  endif()
  add_test(NAME header_${name}_c
    COMMAND ${CMAKE_C_COMPILER} -std=c11 -Wall -Wextra -Werror -pedantic ${def}
            -I${PROJECT_SOURCE_DIR}/core/include -fsyntax-only ${src})
  set_tests_properties(header_${name}_c PROPERTIES LABELS "unit")
  foreach(cxx GXX CLANGXX)
    if(NOT SR_${cxx})
      continue()
    endif()
    set(extra "")
    if(cxx STREQUAL "CLANGXX")
      set(extra -Wold-style-cast)
    endif()
    string(TOLOWER ${cxx} tag)
    foreach(std 11 17)
      add_test(NAME header_${name}_${tag}_cxx${std}
        COMMAND ${SR_${cxx}} -std=c++${std} -Wall -Wextra -Wpedantic -Werror
                ${extra} -x c++ ${def} -I${PROJECT_SOURCE_DIR}/core/include
                -fsyntax-only ${src})
      set_tests_properties(header_${name}_${tag}_cxx${std} PROPERTIES LABELS "unit")
    endforeach()
  endforeach()
endwhile()

# An application that chose layout independence: built with SR_NO_INLINE
# against the shared library, it works and references no sr__ symbol.
add_executable(abi_no_inline ${CMAKE_CURRENT_SOURCE_DIR}/abi/no_inline.c)
target_compile_definitions(abi_no_inline PRIVATE SR_NO_INLINE)
target_link_libraries(abi_no_inline PRIVATE spanring)
add_test(NAME no_inline_calls_exported_functions
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/abi/check_no_inline.sh
          $<TARGET_FILE:abi_no_inline>)
set_tests_properties(no_inline_calls_exported_functions PROPERTIES LABELS "unit")

# A consumer built without sanitizers cannot load a sanitized library.
if(NOT SR_ASAN AND NOT SR_TSAN AND NOT SR_UBSAN)
add_test(NAME find_package_and_pkgconfig
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install/run.sh
          ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/install/consumer)
set_tests_properties(find_package_and_pkgconfig PROPERTIES LABELS "unit" TIMEOUT 300)
endif()

# The same allocator test in a process that runs on jemalloc: the
# pipeline must take an arena of its own there.
if(SR_WITH_JEMALLOC AND NOT SR_ASAN AND NOT SR_TSAN)
  add_executable(test_alloc_jemalloc ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_alloc.c)
  target_compile_definitions(test_alloc_jemalloc PRIVATE SR_TEST_EXPECT_JEMALLOC)
  target_link_libraries(test_alloc_jemalloc PRIVATE sr_testutil PkgConfig::JEMALLOC)
  add_test(NAME test_alloc_jemalloc COMMAND test_alloc_jemalloc)
  set_tests_properties(test_alloc_jemalloc PROPERTIES LABELS "unit")
endif()

# The NULL-argument table checks that it covers every exported call.
target_compile_definitions(test_null_args PRIVATE
  SR_SYMBOL_LIST="${PROJECT_SOURCE_DIR}/core/spanring.sym")

# The README's own example, built with SR_COMPILED_OUT, must be inert: it
# keeps using the span SR_SPAN_AUTO declared (sr_span_set_str(&db.span,
# ...)), which then must read as off, not as whatever the stack held.
# Memcheck reports any use of uninitialised bytes; sanitizer builds have
# their own (ASan cannot see it, so the test needs valgrind).
file(READ ${PROJECT_SOURCE_DIR}/README.md SR_README)
string(REGEX MATCH "## Example[^`]*```c\n([^`]*)```" _ "${SR_README}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/README.md)
if(NOT CMAKE_MATCH_1)
  message(FATAL_ERROR "README.md: no ```c block under ## Example")
endif()
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/readme_example.c "${CMAKE_MATCH_1}")
find_program(SR_VALGRIND valgrind)
foreach(mode inline no_inline)
  add_executable(readme_compiled_out_${mode}
    ${CMAKE_CURRENT_BINARY_DIR}/readme_example.c)
  target_compile_definitions(readme_compiled_out_${mode} PRIVATE SR_COMPILED_OUT)
  if(mode STREQUAL "no_inline")
    target_compile_definitions(readme_compiled_out_${mode} PRIVATE SR_NO_INLINE)
  endif()
  target_compile_options(readme_compiled_out_${mode} PRIVATE -Wall -Wextra -Werror)
  target_link_libraries(readme_compiled_out_${mode} PRIVATE spanring)
  if(SR_VALGRIND AND NOT SR_ASAN AND NOT SR_TSAN AND NOT SR_UBSAN)
    add_test(NAME readme_example_compiled_out_${mode}
      COMMAND ${SR_VALGRIND} --error-exitcode=1 --quiet
              $<TARGET_FILE:readme_compiled_out_${mode}>)
    set_tests_properties(readme_example_compiled_out_${mode} PROPERTIES
      LABELS "unit" TIMEOUT 120 ENVIRONMENT "OTEL_TRACES_EXPORTER=none")
  endif()
endforeach()
