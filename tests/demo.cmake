# demo.cmake - ctest checks of spanring-demo, the program the README runs.
#
# Included from tests/CMakeLists.txt, it registers the tests.  Run with
# `cmake -DMODE=... -DDEMO=<exe> -P demo.cmake`, it is the checker those
# tests call (CMake's own JSON parser, so no Python is needed):
#
#   demo_json     --json prints the final sr_stats as one JSON object on
#                 the last line; the keys are there and the accounting
#                 invariant holds: sampled == exported + sum(dropped).
#   demo_console  the console exporter, sent to a file, prints one line
#                 per exported span, grouped under "trace <id>" headers.
#   demo_args     --help succeeds; bad arguments fail with status 1.
#   demo_crash    --crash-after with SPANRING_FLIGHT_RECORDER: the demo dies
#                 of SIGSEGV, spanring-recover turns the recording into
#                 OTLP/JSON lines, and the request spans the demo says it
#                 ended last are among them (nothing is exported before:
#                 one batch holds every span, the schedule delay is long).

if(NOT CMAKE_SCRIPT_MODE_FILE)
  if(CMAKE_VERSION VERSION_LESS 3.19)
    message(STATUS "demo tests need CMake >= 3.19 (string(JSON)); not added")
    return()
  endif()
  foreach(mode json console args crash)
    add_test(NAME demo_${mode}
      COMMAND ${CMAKE_COMMAND} -DMODE=${mode}
        -DDEMO=$<TARGET_FILE:spanring-demo>
        -DRECOVER=$<TARGET_FILE:spanring-recover>
        -DOUT=${CMAKE_CURRENT_BINARY_DIR}/demo_${mode}.out
        -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(demo_${mode} PROPERTIES LABELS "demo" TIMEOUT 120)
  endforeach()
  return()
endif()

# ---------------------------------------------------------------------------
# Script mode.
# ---------------------------------------------------------------------------

function(fail)
  string(JOIN "" msg ${ARGN})
  message(FATAL_ERROR "${msg}")
endfunction()

function(run_demo out_var)
  execute_process(COMMAND ${DEMO} ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    fail("spanring-demo ${ARGN} exited with '${rc}'\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# The last line of `text` as a JSON object; sets <prefix>_started,
# _sampled, _exported and _dropped (sum of the "dropped" object).
function(parse_stats text prefix)
  string(STRIP "${text}" text)
  string(FIND "${text}" "\n" nl REVERSE)
  math(EXPR nl "${nl} + 1")
  string(SUBSTRING "${text}" ${nl} -1 last)
  string(JSON type ERROR_VARIABLE jerr TYPE "${last}")
  if(jerr OR NOT type STREQUAL "OBJECT")
    fail("last line is not a JSON object (${jerr}): ${last}")
  endif()
  foreach(key started sampled exported)
    string(JSON v ERROR_VARIABLE jerr GET "${last}" ${key})
    if(jerr OR NOT v MATCHES "^[0-9]+$")
      fail("key '${key}' missing or not a count (${jerr}): ${last}")
    endif()
    set(${prefix}_${key} ${v} PARENT_SCOPE)
  endforeach()
  string(JSON type ERROR_VARIABLE jerr TYPE "${last}" dropped)
  if(jerr OR NOT type STREQUAL "OBJECT")
    fail("'dropped' missing or not an object (${jerr}): ${last}")
  endif()
  string(JSON n LENGTH "${last}" dropped)
  if(n EQUAL 0)
    fail("'dropped' has no reasons: ${last}")
  endif()
  set(sum 0)
  math(EXPR end "${n} - 1")
  foreach(i RANGE ${end})
    string(JSON reason MEMBER "${last}" dropped ${i})
    string(JSON v GET "${last}" dropped ${reason})
    if(NOT v MATCHES "^[0-9]+$")
      fail("dropped.${reason} is not a count: ${v}")
    endif()
    math(EXPR sum "${sum} + ${v}")
  endforeach()
  set(${prefix}_dropped ${sum} PARENT_SCOPE)
endfunction()

function(check_invariant prefix)
  math(EXPR accounted "${${prefix}_exported} + ${${prefix}_dropped}")
  if(NOT ${prefix}_sampled EQUAL accounted)
    fail("accounting broken: sampled ${${prefix}_sampled} != exported "
         "${${prefix}_exported} + dropped ${${prefix}_dropped}")
  endif()
  if(${prefix}_started EQUAL 0)
    fail("no spans started")
  endif()
endfunction()

if(MODE STREQUAL "json")
  set(ENV{OTEL_TRACES_EXPORTER} none)
  set(ENV{OTEL_TRACES_SAMPLER} always_on)
  run_demo(out --threads 2 --requests 20 --json)
  parse_stats("${out}" st)
  check_invariant(st)
  if(NOT st_sampled EQUAL st_started)
    fail("always_on sampled ${st_sampled} of ${st_started} spans")
  endif()
  message(STATUS "demo_json: started ${st_started} sampled ${st_sampled} "
                 "exported ${st_exported} dropped ${st_dropped}")

elseif(MODE STREQUAL "console")
  file(REMOVE "${OUT}")
  set(ENV{OTEL_TRACES_EXPORTER} console)
  set(ENV{OTEL_TRACES_SAMPLER} always_on)
  set(ENV{SPANRING_CONSOLE_OUTPUT} "${OUT}")
  set(ENV{NO_COLOR} 1)
  run_demo(out --threads 2 --requests 10 --work-us 0 --json)
  parse_stats("${out}" st)
  check_invariant(st)
  if(NOT EXISTS "${OUT}")
    fail("SPANRING_CONSOLE_OUTPUT=${OUT} was not written")
  endif()
  # Span lines carry " tid=<n>"; event and link sub-lines start with "|".
  file(STRINGS "${OUT}" lines REGEX " span=[0-9a-f]+ tid=[0-9]+")
  set(spans 0)
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^ *\\| ")
      math(EXPR spans "${spans} + 1")
    endif()
  endforeach()
  if(NOT spans EQUAL st_exported)
    fail("console printed ${spans} span lines, ${st_exported} spans exported")
  endif()
  file(STRINGS "${OUT}" traces REGEX "^trace [0-9a-f]+  [0-9]+ spans?$")
  file(STRINGS "${OUT}" roots REGEX "^(GET|POST) /api/[a-z/{}]+  SERVER ")
  list(LENGTH traces ntraces)
  list(LENGTH roots nroots)
  if(ntraces EQUAL 0 OR nroots EQUAL 0)
    fail("no trace headers (${ntraces}) or unindented request spans (${nroots})")
  endif()
  file(STRINGS "${OUT}" children REGEX "^  [a-zA-Z].*  (CLIENT|INTERNAL|CONSUMER) ")
  list(LENGTH children nchildren)
  if(nchildren EQUAL 0)
    fail("no indented child spans in ${OUT}")
  endif()
  message(STATUS "demo_console: ${spans} span lines, ${ntraces} traces, "
                 "${nroots} request roots, ${nchildren} children at depth 1")

elseif(MODE STREQUAL "args")
  run_demo(out --help)
  if(NOT out MATCHES "usage: spanring-demo")
    fail("--help printed no usage:\n${out}")
  endif()
  foreach(bad "--threads;0" "--requests;-3" "--requests" "--bogus")
    execute_process(COMMAND ${DEMO} ${bad} RESULT_VARIABLE rc
      OUTPUT_QUIET ERROR_VARIABLE err)
    if(NOT rc EQUAL 1)
      fail("spanring-demo ${bad} exited with '${rc}', expected 1")
    endif()
  endforeach()

elseif(MODE STREQUAL "crash")
  set(rec "${OUT}.srf")
  file(REMOVE "${rec}" "${OUT}.jsonl")
  set(ENV{SPANRING_FLIGHT_RECORDER} "${rec}")
  set(ENV{OTEL_TRACES_EXPORTER} none)
  set(ENV{OTEL_TRACES_SAMPLER} always_on)
  set(ENV{OTEL_BSP_MAX_EXPORT_BATCH_SIZE} 2048)
  set(ENV{OTEL_BSP_SCHEDULE_DELAY} 600000)
  execute_process(COMMAND ${DEMO} --threads 2 --requests 100000
      --crash-after 150 --work-us 10
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "crashing on purpose after 150 requests")
    fail("spanring-demo --crash-after 150 did not crash ('${rc}'):\n${err}")
  endif()
  execute_process(COMMAND ${RECOVER} ${rec} -o ${OUT}.jsonl
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE rerr)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "died of SIGSEGV")
    fail("spanring-recover exited with '${rc}':\n${out}${rerr}")
  endif()
  string(REGEX MATCHALL "last-span trace=[0-9a-f]+ span=[0-9a-f]+" last "${err}")
  list(LENGTH last nlast)
  if(nlast EQUAL 0)
    fail("the demo named no last spans:\n${err}")
  endif()
  file(READ "${OUT}.jsonl" json)
  foreach(l IN LISTS last)
    string(REGEX REPLACE ".*span=" "" id "${l}")
    string(FIND "${json}" "\"spanId\":\"${id}\"" at)
    if(at EQUAL -1)
      fail("span ${id}, ended just before the crash, is not in the "
           "recovered spans:\n${out}")
    endif()
  endforeach()
  string(REGEX MATCH "recovered [0-9]+ spans" got "${out}")
  message(STATUS "demo_crash: ${got}; the ${nlast} last request spans are "
                 "among them")

else()
  fail("unknown MODE '${MODE}'")
endif()
