#!/bin/sh
# proc_callgrind.sh - instructions per span of each processor, on the
# drainer thread.
#
# usage: bench/proc_callgrind.sh SPANRING_BENCH OUT_DIR [SPANS]
#
# For each processor P (redact, tail, spanmetrics), alone and in the chain
# redact,tail,spanmetrics, runs
#   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=FN \
#     spanring-bench --sr-proc=CHAIN --sr-iters=SPANS
# where FN is P's process function: callgrind counts the instructions
# executed inside it (its callees included: the span decode, PCRE2, the
# stage's calls) and nothing else.  Divided by the spans P was given
# (the run prints them).  The whole stage (sr__processors_run: the chain
# plus its bookkeeping) is counted the same way.  Writes
# OUT_DIR/processors.json:
#   {"spans":N,"runs":[{"chain":..,"processor":..,"ir":..,"spans_in":..,
#                       "ir_per_span":..},...]}
set -eu

bin=${1:?usage: proc_callgrind.sh SPANRING_BENCH OUT_DIR [SPANS]}
out=${2:?usage: proc_callgrind.sh SPANRING_BENCH OUT_DIR [SPANS]}
spans=${3:-20000}

command -v valgrind >/dev/null || { echo "proc_callgrind.sh: valgrind missing: apt-get install valgrind" >&2; exit 2; }
command -v jq >/dev/null || { echo "proc_callgrind.sh: jq missing: apt-get install jq" >&2; exit 2; }
mkdir -p "$out"

fn_of() {
	case $1 in
	redact) echo redact_process ;;
	tail) echo tail_process ;;
	spanmetrics) echo sm_process ;;
	stage) echo sr__processors_run ;;
	esac
}

runs=""
one() { # CHAIN PROCESSOR
	tag=$(echo "$1-$2" | tr ',' '+')
	valgrind --tool=callgrind --collect-atstart=no \
		--toggle-collect="$(fn_of "$2")" \
		--callgrind-out-file="$out/$tag.cg" \
		"$bin" --sr-proc="$1" --sr-iters="$spans" \
		>"$out/$tag.json" 2>"$out/$tag.valgrind.log" || {
		echo "proc_callgrind.sh: $tag failed, see $out/$tag.valgrind.log" >&2
		exit 1
	}
	ir=$(awk '/^totals:/ { print $2; exit }' "$out/$tag.cg")
	if [ "$2" = stage ]; then
		n=$spans
	else
		n=$(jq -r ".processors.\"$2\"" "$out/$tag.json")
	fi
	callgrind_annotate --inclusive=no "$out/$tag.cg" >"$out/$tag.annotate.txt" 2>/dev/null || true
	runs="$runs${runs:+,}{\"chain\":\"$1\",\"processor\":\"$2\",\"ir\":$ir,\"spans_in\":$n,\"ir_per_span\":$(awk "BEGIN { printf \"%.1f\", $ir / ($n ? $n : 1) }")}"
	printf '%-26s %-12s %8.1f instructions/span\n' "$1" "$2" \
		"$(awk "BEGIN { print $ir / ($n ? $n : 1) }")" >&2
}

for p in redact tail spanmetrics; do
	one "$p" "$p"
done
for p in redact tail spanmetrics stage; do
	one redact,tail,spanmetrics "$p"
done
echo "{\"spans\":$spans,\"runs\":[$runs]}" >"$out/processors.json"
