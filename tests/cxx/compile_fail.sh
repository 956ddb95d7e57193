#!/bin/sh
# compile_fail.sh CXX INCLUDE_DIR SRC NCASES [FLAGS...]
# static_keys.cc with -DCASE=0 must compile; with each CASE=1..NCASES it
# must fail, and fail on the case's own line, marked "/* case N:" (not on
# some unrelated error that would make the test pass for the wrong reason).
set -u
cxx=$1 inc=$2 src=$3 n=$4
shift 4
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror "$@" -I"$inc" \
	-fsyntax-only -DCASE=0 "$src" >"$out" 2>&1; then
	cat "$out"
	echo "FAIL: CASE=0 (the right uses) does not compile" >&2
	exit 1
fi
status=0
i=1
while [ "$i" -le "$n" ]; do
	line=$(grep -n "/\* case $i:" "$src" | cut -d: -f1)
	if "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror "$@" -I"$inc" \
		-fsyntax-only -DCASE="$i" "$src" >"$out" 2>&1; then
		echo "FAIL: CASE=$i compiled: $(sed -n "${line}p" "$src")" >&2
		status=1
	elif ! grep -q "$(basename "$src"):$line:" "$out"; then
		cat "$out" >&2
		echo "FAIL: CASE=$i failed, but not on line $line" >&2
		status=1
	else
		echo "ok: CASE=$i refused: $(sed -n "${line}p" "$src" | sed 's/^[[:space:]]*//')"
	fi
	i=$((i + 1))
done
exit $status
