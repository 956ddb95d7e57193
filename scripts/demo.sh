#!/usr/bin/env bash
# Set up, build everything (Release) and run the demo: a simulated
# multi-threaded server whose spans leave through the configured exporter
# (the OTEL_* environment; unset, the demo picks the file exporter), then
# a summary.  Installs only what the build and the demo need ([build] of
# scripts/packages.txt).
# Extra arguments go to spanring-demo (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh build
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSR_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec ./build-release/examples/spanring-demo "$@"
