#!/bin/sh
# build_run.sh CXX INCLUDE_DIR LIB_DIR SRC OUT [FLAGS...]
# Build one C++ program against the public headers and the shared library
# with the strict flags the C++ API promises to pass, then run it.
set -eu
cxx=$1 inc=$2 lib=$3 src=$4 out=$5
shift 5
"$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror "$@" -I"$inc" "$src" \
	-o "$out" -L"$lib" -lspanring -Wl,-rpath,"$lib"
exec "$out"
