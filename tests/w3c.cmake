# w3c.cmake - the W3C trace-context test service (tests/w3c/, run by hand
# against the official suite, see tests/w3c/README.md) and our own
# conformance test of the same cases, in-process (tests/unit glob).
add_executable(w3c-service ${CMAKE_CURRENT_SOURCE_DIR}/w3c/w3c_service.c)
target_compile_definitions(w3c-service PRIVATE _GNU_SOURCE)
target_link_libraries(w3c-service PRIVATE spanring_static ${SR_PRIVATE_LIBS})
# The conformance test shares the service's flow (tests include by bare name).
target_include_directories(test_w3c_conformance PRIVATE ${CMAKE_CURRENT_LIST_DIR}/w3c)
