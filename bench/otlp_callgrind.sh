#!/bin/sh
# otlp_callgrind.sh - instructions per span on the library's own threads
# (drainer + OTLP exporter worker) for HTTP-server spans exported as
# OTLP/HTTP protobuf to a local receiver.
#
# usage: bench/otlp_callgrind.sh SPANRING_BENCH OUT_DIR [N1 N2]
#
# Runs BM_otlp_http_server_spans (bench_otlp.cc) with N1 and then N2
# spans (defaults 2048 and 6144: whole batches of 512) under
#   valgrind --tool=callgrind --separate-threads=yes
# and takes, over the threads that run the library's loops (the files
# naming drainer_main or worker_main), (Ir(N2) - Ir(N1)) / (N2 - N1):
# start-up, the receiver's threads and shutdown cancel out, as in
# bench/nginx/run.sh.  Prints one line per role, the total and the
# exporter's HTTP share (sr__http_post inclusive, in N2's run), and writes
# OUT_DIR/exporter.annotate.txt: the exporter worker's self instructions
# by function in the run with N2 spans.
set -eu

bin=${1:?usage: otlp_callgrind.sh SPANRING_BENCH OUT_DIR [N1 N2]}
out=${2:?usage: otlp_callgrind.sh SPANRING_BENCH OUT_DIR [N1 N2]}
n1=${3:-2048}
n2=${4:-6144}

command -v valgrind >/dev/null || { echo "otlp_callgrind.sh: valgrind missing" >&2; exit 2; }
mkdir -p "$out"

run() { # N
	rm -f "$out/cg$1.out" "$out/cg$1.out-"*
	valgrind --tool=callgrind --separate-threads=yes --compress-strings=no \
		--callgrind-out-file="$out/cg$1.out" \
		"$bin" --benchmark_filter="BM_otlp_http_server_spans/$1/" \
		>"$out/run$1.txt" 2>"$out/valgrind$1.log" || {
		echo "otlp_callgrind.sh: run with $1 spans failed, see $out/valgrind$1.log" >&2
		exit 1
	}
	grep -q "drops/span=0 " "$out/run$1.txt" || {
		echo "otlp_callgrind.sh: spans dropped in the run with $1 (see $out/run$1.txt)" >&2
		exit 1
	}
}

# Ir of the thread whose file names $2 (worker_main or drainer_main).
ir_of() { # N FUNCTION
	for f in "$out/cg$1.out-"*; do
		if grep -q "^fn=$2\$" "$f"; then
			awk '/^totals:/ { print $2; exit }' "$f"
			return
		fi
	done
	echo 0
}

run "$n1"
run "$n2"
e1=$(ir_of "$n1" worker_main); e2=$(ir_of "$n2" worker_main)
d1=$(ir_of "$n1" drainer_main); d2=$(ir_of "$n2" drainer_main)
awk -v e1="$e1" -v e2="$e2" -v d1="$d1" -v d2="$d2" -v n1="$n1" -v n2="$n2" 'BEGIN {
	e = (e2 - e1) / (n2 - n1); d = (d2 - d1) / (n2 - n1)
	printf "exporter worker  %8.1f instructions/span\n", e
	printf "drainer          %8.1f instructions/span\n", d
	printf "library threads  %8.1f instructions/span\n", e + d
}'

for f in "$out/cg$n2.out-"*; do
	grep -q "^fn=worker_main\$" "$f" || continue
	# The transport's share (libcurl included), inclusive, per span.
	callgrind_annotate --inclusive=yes "$f" 2>/dev/null |
		awk -v n="$n2" '$3 ~ /:sr__http_post$/ { v = $1; gsub(",", "", v)
			printf "  of which HTTP  %8.1f instructions/span (sr__http_post, inclusive, run with %d)\n", v / n, n; exit }'
	{
		echo "exporter worker, self instructions of the whole run with $n2 spans"
		echo "(divide by $n2 for instructions per span)"
		callgrind_annotate --inclusive=no --threshold=99 "$f" 2>/dev/null
	} >"$out/exporter.annotate.txt"
done
