#!/usr/bin/env bash
# report.sh - turns one results JSON of bench/run.sh into the Markdown
# report (tables) and its SVG plots (gnuplot).
#
# usage: bench/report.sh RESULTS.json [OUT.md]
#   OUT.md defaults to docs/benchmarks.md; plots go to OUT's directory in
#   <basename of OUT>/ (docs/benchmarks/*.svg) and are linked relatively.
#
# Everything printed comes from the JSON: medians of the google-benchmark
# repetitions (the single run in --quick mode), callgrind counts, and the
# medians over the interleaved server rounds.  Tools: jq, gnuplot
# (Debian gnuplot-nox), awk.
set -euo pipefail

in=${1:?usage: report.sh RESULTS.json [OUT.md]}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$root/docs/benchmarks.md}
plots_rel=$(basename "$out" .md)
plots="$(dirname "$out")/$plots_rel"
mkdir -p "$plots"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spanring-report.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Shared jq definitions: one entry per benchmark (median aggregate when
# repeated), lookups, formatting, and the targets.
defs='
def pick: group_by(.run_name)
	| map((map(select(.aggregate_name == "median")) | .[0]) // (map(select(.run_type == "iteration")) | .[0]) // .[0]);
def runs: (.benchmarks | pick | map({key: .run_name, value: .}) | from_entries);
def one($r; $n): $r[$n + "/real_time"];
def two($r; $n): $r[$n + "/real_time/threads:2"];
def ok($b): $b != null and ($b.error_occurred // false) == false;
def ns($b): if ok($b) then $b.real_time else null end;
def ips($b): if ok($b) then $b.items_per_second else null end;
def f($d): if . == null then "–" else (. * pow(10; $d) | round / pow(10; $d) | tostring) end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;
def ir($n): .callgrind.ops[$n].ir_per_op // null;
def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def server_rows: .server.runs | group_by([.conns, .variant]) | map({
	variant: .[0].variant, conns: .[0].conns, rounds: length,
	rps: (map(.wrk.requests / (.wrk.duration_us / 1e6)) | median),
	p50: (map(.wrk.latency_us.p50) | median),
	p99: (map(.wrk.latency_us.p99) | median),
	p999: (map(.wrk.latency_us.p99_9) | median),
	errors: (map(.wrk.errors | add) | add),
	dropped: (map(.server.tracing.dropped // {} | [.[]] | add // 0) | add),
	exported: (map(.server.tracing.exported // 0) | add)});
def hot_names: ["BM_floor_tsc", "BM_floor_ring", "BM_span_bare", "BM_span_2attrs",
	"BM_span_8attrs_event", "BM_span_nested3", "BM_span_unsampled", "BM_span_uninit",
	"BM_span_compiled_out", "BM_lttng_2fields"];
def targets: runs as $r | . as $all |
	ns(one($r; "BM_span_2attrs")) as $s2 | ns(one($r; "BM_floor_ring")) as $fl |
	ns(one($r; "BM_lttng_2fields")) as $lt |
	([hot_names[] | (one($r; .), two($r; .)) | select(ok(.)) | .["mallocs/op"]] | max) as $mal |
	([$all.callgrind.ops[] | .mallocs_per_op // empty] | max) as $cgmal |
	ratio(ips(two($r; "BM_span_2attrs")); ips(one($r; "BM_span_2attrs"))) as $scale |
	([$all.benchmarks[] | select(.run_name | startswith("BM_pipeline_sustained/")) |
	  select(.ring_records == 16384) | .zero_drop_spans_per_s] | max) as $sus |
	[
	 {t: "BM_span_2attrs ≤ 1.5 × BM_floor_ring", m: (ratio($s2; $fl) | f(3) + " ×"), ok: (ratio($s2; $fl) != null and ratio($s2; $fl) <= 1.5)},
	 {t: "BM_span_2attrs ≤ 150 instructions/op", m: ($all | ir("BM_span_2attrs") | f(0)), ok: (($all | ir("BM_span_2attrs")) != null and ($all | ir("BM_span_2attrs")) <= 150)},
	 {t: "BM_span_unsampled ≤ 5 ns", m: (ns(one($r; "BM_span_unsampled")) | f(2) + " ns"), ok: (ns(one($r; "BM_span_unsampled")) != null and ns(one($r; "BM_span_unsampled")) <= 5)},
	 {t: "BM_span_uninit ≤ 1 ns", m: (ns(one($r; "BM_span_uninit")) | f(2) + " ns"), ok: (ns(one($r; "BM_span_uninit")) != null and ns(one($r; "BM_span_uninit")) <= 1)},
	 {t: "zero mallocs on the hot path", m: ("max " + ($mal | f(4)) + "/op (timed loops), " + ($cgmal | f(4)) + "/op (counted loops)"), ok: ($mal == 0 and $cgmal == 0)},
	 {t: "BM_span_2attrs faster than BM_lttng_2fields", m: (if $lt == null then "LTTng skipped: " + $all.lttng else ($s2 | f(1)) + " ns vs " + ($lt | f(1)) + " ns (spanring drops/op " + (one($r; "BM_span_2attrs")["drops/op"] | f(3)) + "; LTTng overwrites its oldest events, uncounted)" end), ok: ($lt != null and $s2 != null and $s2 < $lt)},
	 {t: "2 threads ≥ 1.8 × 1 thread (BM_span_2attrs throughput)", m: ($scale | f(2) + " × (drops/op: " + (one($r; "BM_span_2attrs")["drops/op"] | f(3)) + " with 1 thread, " + (two($r; "BM_span_2attrs")["drops/op"] | f(3)) + " with 2)"), ok: ($scale != null and $scale >= 1.8)},
	 {t: "BM_pipeline_sustained ≥ 10 M spans/s, zero drops", m: (($sus // null) | if . == null then "–" else (. / 1e6 | f(2)) + " M/s" end), ok: ($sus != null and $sus >= 1e7)}
	] + [server_rows | group_by(.conns)[] |
	 (map(select(.variant == "off")) | .[0]) as $off | (map(select(.variant == "none")) | .[0]) as $none |
	 select($off != null and $none != null) |
	 {t: ("server p99 into `none` within 3 % of compiled out (" + ($off.conns | if type == "string" then sub("@(?<t>.*)"; " connections, \(.t) ms think time") else tostring + " connections, saturated" end) + ")"),
	  m: (($none.p99 | tostring) + " µs vs " + ($off.p99 | tostring) + " µs (" + ((($none.p99 / $off.p99) - 1) * 100 | f(1)) + " %)"),
	  ok: ($none.p99 <= $off.p99 * 1.03)}];
'

jqr() { jq -r "$defs $1" "$in"; }

# ---------------------------------------------------------------- plots
# ns/op, one thread.
jqr 'runs as $r | hot_names[] | select(ns(one($r; .)) != null) | "\(. | sub("^BM_"; ""))\t\(ns(one($r; .)))"' >"$tmp/nsop.dat"
# Scaling: throughput with 2 threads / with 1.
jqr 'runs as $r | hot_names[] | select(ips(one($r; .)) != null and ips(two($r; .)) != null and . != "BM_span_compiled_out") |
	"\(. | sub("^BM_"; ""))\t\(ratio(ips(two($r; .)); ips(one($r; .))))"' >"$tmp/scale.dat"
# Server latency by percentile: for each variant at the largest connection count.
big=$(jqr '[.server.runs[].conns | numbers] | max // 0')
for v in $(jqr '[.server.runs[].variant] | unique | .[]'); do
	jq -r --argjson c "$big" --arg v "$v" "$defs"'
		[.server.runs[] | select(.conns == $c and .variant == $v) | .wrk.percentiles] as $rs |
		$rs[0] | to_entries[] | .key as $i | .value[0] as $p |
		"\($p)\t\(-((1 - $p / 100) | log10))\t\([$rs[][$i][1]] | median)"' "$in" >"$tmp/lat_$v.dat"
done

if command -v gnuplot >/dev/null && [ -s "$tmp/nsop.dat" ]; then
	gnuplot <<EOF
set terminal svg size 760,420 dynamic font "sans,11" background rgb "white"
set output "$plots/ns_per_op.svg"
set title "Time per operation, one thread (median, ns)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set xtics rotate by -35 noenhanced
set ylabel "ns/op"
set grid ytics
unset key
plot "$tmp/nsop.dat" using 2:xtic(1) lc rgb "#3b6ea8"
EOF
	gnuplot <<EOF
set terminal svg size 760,420 dynamic font "sans,11" background rgb "white"
set output "$plots/scaling.svg"
set title "Scaling: throughput with 2 threads / with 1 (2 = linear)"
set style fill solid 0.8 border -1
set boxwidth 0.6
set xtics rotate by -35 noenhanced
set ylabel "2-thread / 1-thread throughput"
set yrange [0:*]
set offsets 0, 0, 0.3, 0
set grid ytics
set key noenhanced horizontal tmargin center
plot "$tmp/scale.dat" using 0:2:xtic(1) with boxes title "measured" lc rgb "#3b6ea8", \
     1.8 with lines dt 2 lc rgb "#d9822b" title "target for span_2attrs (1.8)", \
     2 with lines lc rgb "#888888" title "linear"
EOF
	plotcmd=""
	for f in "$tmp"/lat_*.dat; do
		[ -s "$f" ] || continue
		v=$(basename "$f" .dat); v=${v#lat_}
		plotcmd="$plotcmd${plotcmd:+, }\"$f\" using 2:3 with linespoints title \"$v\""
	done
	if [ -n "$plotcmd" ]; then
		gnuplot <<EOF
set terminal svg size 760,420 dynamic font "sans,11" background rgb "white"
set output "$plots/server_latency.svg"
set title "Server latency by percentile, $big connections (median of rounds, µs)"
set xlabel "percentile"
set ylabel "latency (µs)"
set xtics ("50" 0.30103, "90" 1, "99" 2, "99.9" 3, "99.99" 4)
set logscale y
set grid
set key top left noenhanced
plot $plotcmd
EOF
	fi
fi

# ---------------------------------------------------------------- markdown
{
	jqr '"# Benchmarks\n",
"What a span costs, how it scales, what it does to a server'"'"'s latency, and how that compares",
"with the hardware floor and with LTTng-UST — measured side by side in one run of `bench/run.sh`.",
"This page is generated by `bench/report.sh` from `bench/results/" + .date + ".json`; do not edit it by hand.\n",
"| | |", "|---|---|",
"| command | `" + .command + "` |",
"| date (UTC) | " + .date + (if .quick then " (**--quick**: smoke run, numbers are not meaningful)" else "" end) + " |",
"| commit | " + .commit + (if .dirty then " (with uncommitted changes)" else "" end) + " |",
"| machine | " + .machine.cpu + ", " + (.machine.cpus | tostring) + " CPUs, Linux " + .machine.kernel + " |",
"| load average (1, 5, 15 min) | at start " + (.machine.load_start // "?") + "; at end " + (.machine.load_end // "?") + (if ([(.machine.load_start // "0"), (.machine.load_end // "0")] | map(split(" ")[0] | tonumber) | max) > (.machine.cpus / 2) then " — **other work shared the machine during this run: times and latency percentiles are inflated by it; instruction counts are not**" else "" end) + " |",
"| suite duration | " + ((.seconds // 0) | tostring) + " s |",
"| LTTng-UST | " + .lttng + " |",
"| server exporter variant | " + .server.exporter_variant + " |",
""'

	echo "## Targets"
	echo
	echo "| target | measured | |"
	echo "|---|---|---|"
	jqr 'targets[] | "| \(.t) | \(.m) | \(if .ok then "met" else "**missed**" end) |"'
	echo

	echo "## Hot path, one thread"
	echo
	echo "Median ns per operation (google-benchmark, real time, $(jqr 'if .quick then "1 repetition" else "5 repetitions" end')), the ratios to"
	echo "the floor (two TSC reads + one 256-byte record into an SPSC ring) and to the LTTng-UST"
	echo "tracepoint with the same payload, instructions per operation (callgrind, \`BM_empty\`"
	echo "subtracted), heap allocations and pipeline drops per operation inside the timed loop."
	echo "\`BM_span_nested3\` is one operation of three spans."
	echo
	echo "| benchmark | ns/op | × floor_ring | × lttng | instructions/op | mallocs/op | drops/op |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	jqr 'runs as $r | . as $all | ns(one($r; "BM_floor_ring")) as $fl | ns(one($r; "BM_lttng_2fields")) as $lt |
		hot_names[] as $n | one($r; $n) as $b |
		if ok($b) then
		"| `\($n)` | \(ns($b) | f(2)) | \(ratio(ns($b); $fl) | f(2)) | \(ratio(ns($b); $lt) | f(2)) | \($all | ir($n) | f(0)) | \($b["mallocs/op"] | f(3)) | \($b["drops/op"] | f(4)) |"
		else "| `\($n)` | skipped: \($b.error_message // "not run") | | | | | |" end'
	echo
	echo "![ns per operation]($plots_rel/ns_per_op.svg)"
	echo

	echo "## Scaling: one thread vs two"
	echo
	echo "Throughput of all threads together (M operations/s, wall clock). The machine has two cores,"
	echo "and the pipeline's drainer thread (or the floor's consumer) needs one too."
	echo
	echo "| benchmark | 1 thread | 2 threads | 2 / 1 | drops/op (2 threads) |"
	echo "|---|---:|---:|---:|---:|"
	jqr 'runs as $r | hot_names[] as $n | select($n != "BM_span_compiled_out") | one($r; $n) as $a | two($r; $n) as $b |
		select(ok($a)) |
		"| `\($n)` | \(ips($a) / 1e6 | f(2)) | \(if ok($b) then ips($b) / 1e6 | f(2) else "–" end) | \(ratio(ips($b); ips($a)) | f(2)) | \(if ok($b) then $b["drops/op"] | f(4) else "–" end) |"'
	echo
	echo "![scaling]($plots_rel/scaling.svg)"
	echo

	echo "## Pipeline under load"
	echo
	echo "\`BM_pipeline_sustained/P/R/B\`: P producer threads record the \`BM_span_2attrs\` span into rings of R"
	echo "records, exporter \`none\`; the highest paced rate with zero drops (bisection), and what"
	echo "happens at full speed. B is how a paced producer waits for its schedule: 0, idle (more than"
	echo "100 µs ahead, it sleeps, as an application thread waiting for work does; then it records what"
	echo "is due as fast as it can); 1, busy (it spins, as a CPU-bound application: with P = 2 both cores"
	echo "are always taken, and the drainer runs only when the scheduler preempts a producer, which can"
	echo "take a whole tick). Rows without B come from runs that had busy pacing only, and judged a"
	echo "rate on one trial; now a rate counts only when two trials in a row at it drop nothing. Each"
	echo "trial starts with the drainer idle at its longest pause (\`drainer_max_sleep_us\`, 1 ms;"
	echo "producers never wake it), so a ring must hold what its producer records in that pause: that,"
	echo "not the drainer's speed, bounds the R = 1024 row below 1 M spans/s."
	echo
	echo "| run | zero-drop rate (spans/s) | full speed (spans/s) | dropped at full speed |"
	echo "|---|---:|---:|---:|"
	jqr '.benchmarks[] | select(.run_name | startswith("BM_pipeline_sustained/")) | select((.error_occurred // false) | not) |
		"| `\(.run_name | sub("/iterations:1/manual_time"; ""))` | \(.zero_drop_spans_per_s / 1e6 | f(2)) M | \(.full_speed_spans_per_s / 1e6 | f(2)) M | \(.full_speed_drop_ratio * 100 | f(1)) % |"'
	echo
	echo "\`BM_pipeline_overload\`: a fixed count of spans offered at 10 × what the exporter takes (an"
	echo "exporter that accepts a fixed number of spans/s and sleeps the rest, like a slow collector)."
	echo "Memory must stay at what \`sr_init\` fixed: \`pipeline_bytes\`, of which the rings take"
	echo "max_threads × ring_records × 256 B; RSS growth is measured across the load."
	echo
	echo "| offered | exporter takes | spans | exported | dropped (ring full / queue full) | pipeline_bytes | rings' share | RSS growth at init | RSS growth under load |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	jqr 'def mib: . / 1048576 | f(1) + " MiB";
		.benchmarks[] | select(.run_name | startswith("BM_pipeline_overload")) | select((.error_occurred // false) | not) |
		"| \(.offered_spans_per_s / 1e6 | f(2)) M/s | \(.exporter_spans_per_s / 1e6 | f(2)) M/s | \(.spans) | \(.exported) | \(.dropped) (\(.dropped_ring_full) / \(.dropped_queue_full)) | \(.pipeline_bytes | mib) | \(.ring_bytes_bound | mib) | \(.rss_init_growth_bytes | mib) | \(.rss_load_growth_bytes | mib) |"'
	echo

	echo "## A real server"
	echo
	jqr '"`spanring-bench-server --poll` (one epoll thread polling, HTTP/1.1 keep-alive; per request: extract the caller'"'"'s",
"traceparent, a SERVER span with four children, inject into the response) driven by",
"`wrk -t1 -cN -d" + (.server.duration_s | tostring) + "s` on loopback, wrk and the server pinned to one core each; the three builds",
"interleaved, " + (.server.rounds | tostring) + " round(s), order rotated each round; medians over rounds. `off`: built with",
"`-DSR_COMPILED_OUT`; `none`: tracing on into the `none` exporter; `" + .server.exporter_variant + "`: tracing on into that",
"exporter" + (if .server.exporter_variant == "otlp" then " (OTLP/HTTP to a local sink on loopback, on wrk'"'"'s core)" else " (its output to /dev/null)" end) + ".",
"Every variant polls (epoll_wait with a zero timeout, yielding when idle): on a virtual machine a",
"halted vCPU takes tens of µs to wake, which would favour whichever build keeps its core awake",
"(the tracing builds, through the drainer'"'"'s polling).",
"The traced variants'"'"' library threads (drainer, exporter worker): " +
(if .server.background == null then "inherited the server'"'"'s pinning (same core)."
 else "`SPANRING_BACKGROUND_CPUS=" + .server.background.cpus + "`, `SPANRING_BACKGROUND_SCHED=" + .server.background.sched + "`" +
  (if .server.background.cpus == "inherit" then " (on the server'"'"'s core)."
   else ": the request loop has its core to itself, and their work is charged to wrk'"'"'s core." end) end),
"wrk is a closed loop at saturation (each connection sends its next request when the last is answered),",
"so latency percentiles follow the server'"'"'s CPU time per request: within 3 % on p99 means tracing adds",
"at most about 3 % to it. The spans exported and dropped are sums over all rounds.\n"'
	echo "| connections | variant | requests/s | p50 (µs) | p99 (µs) | p99.9 (µs) | Δ p99 vs off | socket errors | spans exported / dropped |"
	echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
	jqr '(server_rows | map(select(.variant == "off")) | map({key: (.conns | tostring), value: .p99}) | from_entries) as $off |
		server_rows | sort_by(.conns, (if .variant == "off" then 0 elif .variant == "none" then 1 else 2 end))[] |
		"| \(.conns) | \(.variant) | \(.rps | f(0)) | \(.p50) | \(.p99) | \(.p999) | \(if .variant == "off" or $off[.conns | tostring] == null then "" else ((.p99 / $off[.conns | tostring] - 1) * 100 | f(1)) + " %" end) | \(.errors) | \(if .variant == "off" then "–" else "\(.exported) / \(.dropped)" end) |"'
	echo
	echo "![server latency]($plots_rel/server_latency.svg)"
	echo

	others=$(jqr 'runs | to_entries | map(select(.key | test("^(BM_empty|BM_pipeline_[a-z]+|" + (hot_names | join("|")) + ")/") | not)) | length')
	if [ "$others" -gt 0 ]; then
		echo "## Other benchmarks in this run"
		echo
		echo "Benchmarks of other areas (\`bench/bench_*.cc\`), medians as above."
		echo
		echo "| benchmark | time | items/s | instructions/op | counters |"
		echo "|---|---:|---:|---:|---|"
		jqr '. as $all | runs | to_entries | map(select(.key | test("^(BM_empty|BM_pipeline_[a-z]+|" + (hot_names | join("|")) + ")/") | not)) | .[] | .value as $b |
			"| `\(.key)` | \(if ok($b) then ($b.real_time | f(2)) + " " + $b.time_unit else "skipped: " + ($b.error_message // "") end) | \(if ok($b) and $b.items_per_second != null and $b.items_per_second > 0 then ($b.items_per_second / 1e6 | f(2)) + " M" else "" end) | \(if (.key | test("threads:")) then "" else $all | ir($b.run_name | sub("/real_time$"; "")) | f(0) end) | \($b | to_entries | map(select(.key != "items_per_second" and (.key | test("/op$|_per_|bytes")))) | map(.key + "=" + (.value | f(3))) | join(", ")) |"'
		echo
	fi

	echo "## Where the instructions go"
	echo
	echo "\`callgrind_annotate\` of the counted loops, divided by the operation count (instructions per"
	echo "operation, by source file and function, self cost: the rows add up to the total). Shown for every benchmark whose target was missed, and for"
	echo "\`BM_span_2attrs\` always."
	echo
	for n in $(jqr '[targets[] | select(.ok | not) | .t | capture("(?<b>BM_span_[a-z0-9_]+)").b] + ["BM_span_2attrs"] | unique | .[]'); do
		txt=$(jq -r --arg n "$n" '.callgrind.ops[$n].annotate // empty' "$in")
		[ -n "$txt" ] || continue
		echo "### \`$n\`"
		echo
		echo '```'
		printf '%s\n' "$txt"
		echo '```'
		echo
	done

	echo "## Method"
	echo
	echo "- \`bench/run.sh\` builds a Release tree (with -g for the profiles), starts \`lttng-sessiond\` and a"
	echo "  snapshot-mode session when it can, runs \`spanring-bench\` (hot path: 5 repetitions, medians; then the"
	echo "  pipeline benchmarks), \`bench/callgrind.sh\` (100 000 operations each under"
	echo "  \`valgrind --tool=callgrind\`, \`BM_empty\` subtracted), then the server under wrk, and writes"
	echo "  \`bench/results/<date>.json\` and this page. \`bench/run.sh --quick\` runs every benchmark briefly."
	echo "- Span benchmarks run the real pipeline: \`sr_init\` with the \`none\` exporter, rings of 16384"
	echo "  records (the drainer may sleep up to 1 ms, and at 10+ M spans/s the default 1024-record ring"
	echo "  would overflow before it wakes: the benchmark would then time the drop path). The floor uses"
	echo "  rings of the same size and a consumer with the drainer's polling policy."
	echo "- Every 2048 operations the timer pauses until the consumer has emptied the rings, so the"
	echo "  time is that of the path that records (a producer flat out outruns the drainer on two cores"
	echo "  and would otherwise time the cheaper drop path); \`drops/op\` shows any drop in the timed"
	echo "  windows. What the pipeline sustains without pauses is \`BM_pipeline_sustained\`'s answer."
	echo "- \`mallocs/op\`: the benchmark executable interposes malloc and friends and counts per thread"
	echo "  inside the timed loop; \`drops/op\`: the pipeline's drop counters over the same window."
	echo "- \`spanring-bench\` links the static library; a shared-library build adds a PLT jump per call."
	jqr 'runs as $r | ns(one($r; "BM_floor_tsc")) as $t |
		"- Numbers are this machine'"'"'s (" + .machine.cpu + ", " + (.machine.cpus | tostring) + " CPUs). One TSC read costs " + ($t | f(1)) + " ns here",
		"  (`BM_floor_tsc`; a few ns on bare metal, more where a hypervisor traps it), and every recorded span",
		"  takes two, as the floor does."' 
} >"$out"
echo "report.sh: wrote $out and $plots/*.svg" >&2
