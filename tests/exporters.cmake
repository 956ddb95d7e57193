# exporters.cmake - what the tests of the zipkin, file, chrome and plugin
# exporters and of fan-out need beyond sr_testutil: the test receiver
# (from otlp.cmake, included before this file), the Zipkin golden body, the
# plugins that must fail to load, and the ctest checks of spanring-demo
# with these exporters (demo/demo_exporters_check.c, which starts a
# Zipkin-style receiver, runs the demo and reads back every output).

foreach(t test_zipkin test_file_exporter test_chrome test_fanout test_plugin)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE sr_receiver)
  endif()
endforeach()
if(TARGET test_zipkin)
  target_compile_definitions(test_zipkin PRIVATE
    SR_ZIPKIN_GOLDEN="${CMAKE_CURRENT_SOURCE_DIR}/golden/zipkin_v2.json")
endif()

# Plugins that must be refused, one per defect (plugins/broken_plugin.c).
set(SR_BROKEN_PLUGINS "")
foreach(kind ABI NO_DESTROY NULL NO_ENTRY NEWER)
  string(TOLOWER ${kind} lower)
  add_library(sr_broken_plugin_${lower} MODULE
    ${CMAKE_CURRENT_SOURCE_DIR}/plugins/broken_plugin.c)
  target_compile_definitions(sr_broken_plugin_${lower} PRIVATE BROKEN_${kind})
  target_include_directories(sr_broken_plugin_${lower} PRIVATE
    ${PROJECT_SOURCE_DIR}/core/include)
  list(APPEND SR_BROKEN_PLUGINS sr_broken_plugin_${lower})
endforeach()

if(TARGET test_plugin)
  # The test links spanring statically: export its symbols (-rdynamic) so
  # that a plugin resolves sr_batch_* from the executable, as plugin.c
  # documents for static applications.
  set_target_properties(test_plugin PROPERTIES ENABLE_EXPORTS ON)
  add_dependencies(test_plugin spanring_example_plugin ${SR_BROKEN_PLUGINS})
  target_compile_definitions(test_plugin PRIVATE
    SR_EXAMPLE_PLUGIN="$<TARGET_FILE:spanring_example_plugin>"
    SR_PLUGIN_ABI="$<TARGET_FILE:sr_broken_plugin_abi>"
    SR_PLUGIN_NO_DESTROY="$<TARGET_FILE:sr_broken_plugin_no_destroy>"
    SR_PLUGIN_NULL="$<TARGET_FILE:sr_broken_plugin_null>"
    SR_PLUGIN_NO_ENTRY="$<TARGET_FILE:sr_broken_plugin_no_entry>"
    SR_PLUGIN_NEWER="$<TARGET_FILE:sr_broken_plugin_newer>")
endif()

# spanring-demo with the exporters of this area (demo_exporters_check.c):
#   demo_exporters      zipkin,file,chrome from one run, each output read back
#   demo_chrome_tracks  the Chrome trace parses and has one named track per
#                       worker thread
#   demo_default_file   no OTEL_TRACES_EXPORTER: the file exporter, in the
#                       working directory
#   demo_plugin         the example plugin through the shared library
add_executable(demo_exporters_check
  ${CMAKE_CURRENT_SOURCE_DIR}/demo/demo_exporters_check.c)
target_link_libraries(demo_exporters_check PRIVATE sr_receiver sr_testutil)
add_dependencies(demo_exporters_check spanring-demo spanring_example_plugin)
foreach(mode all chrome default)
  set(name demo_${mode})
  if(mode STREQUAL "all")
    set(name demo_exporters)
  elseif(mode STREQUAL "chrome")
    set(name demo_chrome_tracks)
  elseif(mode STREQUAL "default")
    set(name demo_default_file)
  endif()
  add_test(NAME ${name} COMMAND demo_exporters_check
    $<TARGET_FILE:spanring-demo> ${mode})
  set_tests_properties(${name} PROPERTIES LABELS "demo" TIMEOUT 120)
endforeach()
add_test(NAME demo_plugin COMMAND demo_exporters_check
  $<TARGET_FILE:spanring-demo> plugin $<TARGET_FILE:spanring_example_plugin>)
set_tests_properties(demo_plugin PROPERTIES LABELS "demo" TIMEOUT 120)
