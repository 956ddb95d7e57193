# propagation_example.cmake - the two-process propagation example
# (examples/propagation/front.c, back.c: tiny HTTP/1.1 services on loopback)
# and the ctest test that runs them and checks one trace across both.
# Plain C, built with the tests.
foreach(svc front back)
  add_executable(prop-${svc} ${PROJECT_SOURCE_DIR}/examples/propagation/${svc}.c)
  target_compile_definitions(prop-${svc} PRIVATE _GNU_SOURCE)
  target_link_libraries(prop-${svc} PRIVATE spanring_static ${SR_PRIVATE_LIBS})
endforeach()

add_executable(prop_example_test ${CMAKE_CURRENT_SOURCE_DIR}/prop_example_test.c)
target_compile_definitions(prop_example_test PRIVATE _GNU_SOURCE)
target_include_directories(prop_example_test PRIVATE ${PROJECT_SOURCE_DIR}/examples/propagation)
target_link_libraries(prop_example_test PRIVATE spanring_static ${SR_PRIVATE_LIBS})
add_test(NAME prop_example_two_process
  COMMAND prop_example_test $<TARGET_FILE:prop-front> $<TARGET_FILE:prop-back>)
set_tests_properties(prop_example_two_process PROPERTIES LABELS "unit;example"
  TIMEOUT 120)
