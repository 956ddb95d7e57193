#!/bin/sh
# callgrind.sh - instructions per operation of every hot-path benchmark.
#
# usage: bench/callgrind.sh SPANRING_BENCH OUT_DIR [ITERS]
#
# For each operation `spanring-bench --sr-list-hot` names, runs
#   valgrind --tool=callgrind --collect-atstart=no --separate-threads=yes \
#     spanring-bench --sr-count=NAME --sr-iters=ITERS
# which collects exactly ITERS operations on the main thread (between two
# CALLGRIND_TOGGLE_COLLECT requests, after a warm-up; the drainer's
# instructions land in other threads' files and are not counted).  The
# same run of BM_empty (the loop with nothing in it) is the baseline:
#   instructions/op = (Ir(NAME) - Ir(BM_empty)) / ITERS
# Debian's google-benchmark has no hardware counters and this machine has
# no PMU, so this is the instruction count we can trust.
#
# Writes OUT_DIR/callgrind.json:
#   {"iters":N,"baseline_ir":B,"ops":{"NAME":{"ir":..,"ir_per_op":..,
#     "spans_per_iter":..,"mallocs_per_op":..,"drops":..} | {"skipped":".."}}}
# and for each operation OUT_DIR/NAME.annotate.txt: callgrind_annotate's
# view divided by ITERS (instructions per operation, by source file and
# function), the profile a missed target is reported with.
set -eu

bin=${1:?usage: callgrind.sh SPANRING_BENCH OUT_DIR [ITERS]}
out=${2:?usage: callgrind.sh SPANRING_BENCH OUT_DIR [ITERS]}
iters=${3:-200000}

command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind missing: apt-get install valgrind" >&2; exit 2; }
command -v jq >/dev/null || { echo "callgrind.sh: jq missing: apt-get install jq" >&2; exit 2; }
mkdir -p "$out"

run_one() {
	rm -f "$out/$1.cg" "$out/$1.cg-"*
	valgrind --tool=callgrind --collect-atstart=no --separate-threads=yes \
		--callgrind-out-file="$out/$1.cg" \
		"$bin" --sr-count="$1" --sr-iters="$iters" \
		>"$out/$1.json" 2>"$out/$1.valgrind.log" || {
		echo "callgrind.sh: $1 failed, see $out/$1.valgrind.log" >&2
		return 1
	}
}

# Ir collected on the main thread (file suffix -01).
ir_of() {
	awk '/^totals:/ { print $2; exit }' "$out/$1.cg-01"
}

# callgrind_annotate's self-cost table, divided by ITERS: one row per
# function and source file, so code inlined from ids_int.h or clock_int.h
# shows apart from the function that inlined it, and the rows add up to
# the total.  (No inclusive view: with that much inlining, callgrind's
# inclusive rows describe fragments of functions, not whole calls.)
annotate() {
	echo "self instructions/op, by source file:function"
	callgrind_annotate --inclusive=no --threshold=99 "$out/$1.cg-01" 2>/dev/null |
		awk -v n="$iters" '
			/file:function/ { on = 1; next }
			on && /^-+$/ { if (seen) exit; next }
			on && NF >= 3 {
				v = $1; gsub(",", "", v)
				row = $0; sub(/^ *[0-9,]+ *\([^)]*\) */, "", row)
				sub(/ \[[^]]*\]$/, "", row)
				file = row; sub(/:.*$/, "", file); sub(/^.*\//, "", file)
				fn = row; sub(/^[^ ]*:/, "", fn)
				seen = 1
				sum[file == "???" ? fn : file ":" fn] += v
			}
			END { for (l in sum) if (sum[l] / n >= 0.5) printf "%10.1f  %s\n", sum[l] / n, l }' |
		sort -rn | head -n 24
}

run_one BM_empty
base=$(ir_of BM_empty)
ops='{}'
for name in $("$bin" --sr-list-hot); do
	[ "$name" = BM_empty ] && continue
	run_one "$name" || { ops=$(echo "$ops" | jq --arg n "$name" '.[$n] = {skipped: "callgrind run failed"}'); continue; }
	if jq -e 'has("skipped")' "$out/$name.json" >/dev/null; then
		ops=$(echo "$ops" | jq --arg n "$name" --slurpfile j "$out/$name.json" '.[$n] = {skipped: $j[0].skipped}')
		continue
	fi
	ir=$(ir_of "$name")
	annotate "$name" >"$out/$name.annotate.txt"
	ops=$(echo "$ops" | jq --arg n "$name" --argjson ir "$ir" --argjson base "$base" \
		--argjson iters "$iters" --slurpfile j "$out/$name.json" '
		.[$n] = {ir: $ir, ir_per_op: (($ir - $base) / $iters),
			 spans_per_iter: $j[0].spans_per_iter,
			 mallocs_per_op: ($j[0].mallocs / $iters),
			 drops: $j[0].drops}')
	printf '%-24s %8.1f instructions/op\n' "$name" "$(echo "$ops" | jq --arg n "$name" '.[$n].ir_per_op')" >&2
done
jq -n --argjson iters "$iters" --argjson base "$base" --argjson ops "$ops" \
	'{iters: $iters, baseline_ir: $base, baseline_ir_per_op: ($base / $iters), ops: $ops}' \
	>"$out/callgrind.json"
