# Build-level checks of the library as a user sees it: exported symbols,
# the public header alone in C and C++, and an outside project finding the
# installed library with find_package() and with pkg-config.

add_test(NAME public_symbols_are_sr
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/check_symbols.sh $<TARGET_FILE:spanring>)
set_tests_properties(public_symbols_are_sr PROPERTIES LABELS "unit")

add_test(NAME header_alone_c
  COMMAND ${CMAKE_C_COMPILER} -std=c11 -Wall -Wextra -Werror -pedantic
          -I${PROJECT_SOURCE_DIR}/core/include -fsyntax-only
          ${CMAKE_CURRENT_SOURCE_DIR}/header/header_alone.c)
set_tests_properties(header_alone_c PROPERTIES LABELS "unit")

include(CheckLanguage)
check_language(CXX)
if(CMAKE_CXX_COMPILER)
  add_test(NAME header_alone_cxx
    COMMAND ${CMAKE_CXX_COMPILER} -std=c++11 -Wall -Wextra -Werror -x c++
            -I${PROJECT_SOURCE_DIR}/core/include -fsyntax-only
            ${CMAKE_CURRENT_SOURCE_DIR}/header/header_alone.c)
  set_tests_properties(header_alone_cxx PROPERTIES LABELS "unit")
endif()

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
