# Extra test definitions, one include per area.
include(${CMAKE_CURRENT_SOURCE_DIR}/demo.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/fuzz_config.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/core.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/bench_smoke.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/propagation.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/otlp.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/exporters5.cmake)
