# propagation.cmake - the propagation tests that need more than the
# tests/unit glob gives: the allocation check (link-time malloc wrapping),
# the fuzz targets and the two-process example.
#
# prop_nomalloc wraps the heap calls of everything linked statically into
# it (the library included) with -Wl,--wrap, so it counts the library's
# own allocations and nothing from libc's internals; that also works under
# ASan, whose malloc the __real_ symbols then reach.
add_executable(prop_nomalloc ${CMAKE_CURRENT_SOURCE_DIR}/unit/prop_nomalloc.c)
target_link_libraries(prop_nomalloc PRIVATE sr_testutil)
target_link_options(prop_nomalloc PRIVATE
  -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc
  -Wl,--wrap=posix_memalign -Wl,--wrap=aligned_alloc
  -Wl,--wrap=strdup -Wl,--wrap=strndup)
add_test(NAME prop_nomalloc COMMAND prop_nomalloc)
set_tests_properties(prop_nomalloc PROPERTIES LABELS "unit" TIMEOUT 60)

include(${CMAKE_CURRENT_LIST_DIR}/fuzz_prop.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/propagation_example.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/w3c.cmake)
