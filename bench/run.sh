#!/usr/bin/env bash
# run.sh - the whole benchmark suite in one run, on this machine:
# build (Release), google-benchmark hot path and pipeline (the processor
# chain's cost and zero-drop rate among them), instruction counts under
# callgrind (hot path; each processor per span), the HTTP server (tracing compiled out / on into
# `none` / on into an exporter, interleaved) under wrk at saturation, then
# under the open-loop spanring-loadgen at 25/50/75 % of the compiled-out
# build's saturated rate (service time, CPU per request), then under
# callgrind (instructions per request) -- these two with a fourth build,
# the floor (the same spans and propagation by hand) -- then the second
# real server:
# Debian's nginx with and without ngx_http_spanring_module
# (bench/nginx/run.sh: return 200 and a proxied location, tracing off /
# on into none / on into otlp, interleaved rounds and callgrind), then
# bench/results/<date>.json and docs/benchmarks.md (bench/report.py).
#
# usage: bench/run.sh [--quick] [--build-dir DIR] [--no-build]
#                     [--results FILE] [--docs FILE] [--no-report]
#                     [--only server|nginx] [--no-nginx] [--rounds N]
#                     [--bg-cpus LIST|inherit] [--bg-sched CLASS]
#   --quick       every benchmark briefly (CI smoke); asserts nothing about
#                 speed, only that every benchmark ran and produced numbers
#   --build-dir   build here (default: <repo>/build-bench), or, with
#                 --no-build, take the binaries already built here
#   --results     where the JSON goes (default bench/results/<date>.json)
#   --docs        the Markdown report (default docs/benchmarks.md; its SVG
#                 plots go beside it, in <name>/ )
#   --no-report   write the JSON only
#   --only nginx  the nginx part alone (bench/nginx/run.sh's table into
#                 the JSON and on stderr, no Markdown report)
#   --no-nginx    leave nginx out of the full run (the report says so);
#                 it is left out anyway, with the reason, when nginx or
#                 nginx-dev is missing, or with --no-build when the
#                 build directory has no module
#   --only server the server runs alone (JSON and a summary on stderr, no
#                 Markdown report): for repeating the latency comparison
#   --rounds N    interleaved server rounds, wrk and open loop alike
#                 (default 5, --quick 1)
#   --bg-cpus     where the traced server's library threads (drainer,
#                 exporter worker) run: SPANRING_BACKGROUND_CPUS, default
#                 wrk's core (0), the stand-in for a housekeeping core;
#                 "inherit" leaves them on the server's core
#   --bg-sched    their SPANRING_BACKGROUND_SCHED (default normal; inherit,
#                 batch, idle).  Not idle: wrk keeps core 0 busy, and an
#                 idle-class drainer there hardly runs (half the spans
#                 dropped when measured); normal takes the few % it needs
#
# Needs (Debian): cmake, g++, libbenchmark-dev, valgrind, wrk, jq,
# python3, gnuplot-nox, liblttng-ust-dev and lttng-tools (for
# BM_lttng_2fields; without lttng-sessiond that benchmark is skipped and
# says why).  The full run takes about 12 minutes on a 2-core machine.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
build=1
report=1
build_dir="$root/build-bench"
date=$(date -u +%Y-%m-%dT%H%M%SZ)
results=""
docs="$root/docs/benchmarks.md"
cmdline="bench/run.sh $*"
only=""
nginx=1
rounds_opt=""
bg_cpus=0
bg_sched=normal

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--no-build) build=0 ;;
	--no-report) report=0 ;;
	--build-dir) build_dir=$2; shift ;;
	--results) results=$2; shift ;;
	--docs) docs=$2; shift ;;
	--only) only=$2; shift
		case "$only" in server|nginx) ;;
		*) echo "run.sh: --only takes: server, nginx" >&2; exit 2 ;; esac ;;
	--no-nginx) nginx=0 ;;
	--rounds) rounds_opt=$2; shift ;;
	--bg-cpus) bg_cpus=$2; shift ;;
	--bg-sched) bg_sched=$2; shift ;;
	-h|--help) sed -n '2,37p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$results" ] || results="$root/bench/results/$date.json"
# The Markdown report needs every part of the suite.
[ -z "$only" ] || report=0

need() {
	command -v "$1" >/dev/null || { echo "run.sh: $1 not found: apt-get install $2" >&2; exit 2; }
}
need jq jq
need valgrind valgrind
need wrk wrk
need python3 python3
[ $report = 0 ] || need gnuplot gnuplot-nox

work=$(mktemp -d "${TMPDIR:-/tmp}/spanring-bench.XXXXXX")
pids=()
sessiond_pid=""
lttng_session=""

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$lttng_session" ]; then
		lttng destroy "$lttng_session" >/dev/null 2>&1 || true
	fi
	if [ -n "$sessiond_pid" ]; then
		kill "$sessiond_pid" 2>/dev/null || true
		wait "$sessiond_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SECONDS=0
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "")
log() { printf '== [%3ds] %s\n' "$SECONDS" "$*" >&2; }

# nginx: its part runs when Debian's nginx and nginx-dev are here (the
# module builds against nginx-dev's tree), else it is skipped with why.
nginx_skip=""
[ "$only" != server ] || nginx=0
if [ $nginx = 0 ]; then
	nginx_skip="skipped: --no-nginx"
elif ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
	nginx_skip="skipped: nginx not installed (apt-get install nginx)"
elif [ ! -d /usr/share/nginx/src ]; then
	nginx_skip="skipped: nginx-dev not installed (apt-get install nginx-dev)"
fi
[ "$only" != nginx ] || [ -z "$nginx_skip" ] || { echo "run.sh: --only nginx: $nginx_skip" >&2; exit 2; }
nginx_cmake=()
nginx_target=()
if [ -z "$nginx_skip" ]; then
	nginx_cmake=(-DSR_BUILD_NGINX=ON)
	nginx_target=(ngx_http_spanring_module)
fi

# ---------------------------------------------------------------- build
if [ $build = 1 ]; then
	log "build (Release) in $build_dir"
	cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
		-DSR_BUILD_BENCH=ON -DSR_BUILD_TESTS=OFF ${nginx_cmake[@]+"${nginx_cmake[@]}"} \
		-DCMAKE_C_FLAGS=-g -DCMAKE_CXX_FLAGS=-g >"$work/cmake.log" 2>&1 ||
		{ cat "$work/cmake.log" >&2; exit 1; }
	targets=(spanring-bench spanring-bench-server spanring-bench-server-off spanring-bench-server-floor spanring-loadgen)
	[ "$only" != nginx ] || targets=(spanring-bench-server-off)
	cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]}" \
		${nginx_target[@]+"${nginx_target[@]}"} \
		>"$work/build.log" 2>&1 ||
		{ tail -n 40 "$work/build.log" >&2; exit 1; }
fi
bench="$build_dir/bench/spanring-bench"
server_on="$build_dir/bench/spanring-bench-server"
server_off="$build_dir/bench/spanring-bench-server-off"
server_floor="$build_dir/bench/spanring-bench-server-floor"
loadgen="$build_dir/bench/spanring-loadgen"
needed=("$bench" "$server_on" "$server_off" "$server_floor" "$loadgen")
[ "$only" != nginx ] || needed=("$server_off") # nginx/run.sh's OTLP sink
for b in "${needed[@]}"; do
	[ -x "$b" ] || { echo "run.sh: $b missing (build first or drop --no-build)" >&2; exit 2; }
done
if [ -z "$nginx_skip" ] && [ ! -f "$build_dir/nginx/ngx_http_spanring_module.so" ]; then
	nginx_skip="skipped: no module in $build_dir (configured without -DSR_BUILD_NGINX=ON)"
	[ "$only" != nginx ] || { echo "run.sh: --only nginx: $nginx_skip" >&2; exit 2; }
fi

# Two cores: wrk and the server get one each; the span benchmarks'
# 2-thread runs need both, so they are not pinned.
pin_client=()
pin_server=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin_client=(taskset -c 0)
	pin_server=(taskset -c 1)
fi

# ---------------------------------------------------------------- nginx
# bench/nginx/run.sh on the binaries built above; its JSON (table cells,
# callgrind per variant, the command) goes into the results as .nginx.
nginx_json="$work/nginx/nginx-bench.json"
nginx_section() {
	local args=(--no-build --build-dir "$build_dir" --out "$work/nginx")
	[ $quick = 0 ] || args+=(--quick)
	[ -z "$rounds_opt" ] || args+=(--rounds "$rounds_opt")
	log "nginx: bench/nginx/run.sh ${args[*]}"
	"$root/bench/nginx/run.sh" "${args[@]}" >"$work/nginx.txt" 2>"$work/nginx.err" ||
		{ tail -n 30 "$work/nginx.err" >&2; exit 1; }
}
nginx_results() { # the .nginx value: the run's JSON, or why there is none
	if [ -n "$nginx_skip" ]; then
		jq -n --arg s "$nginx_skip" '{skipped: $s}'
	else
		cat "$nginx_json"
	fi
}

# only_results PART FILE: write the results of an --only run (its JSON
# in FILE, under .PART), print its tables, and end the run.
only_results() {
	load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "")
	mkdir -p "$(dirname "$results")"
	jq --arg part "$1" --arg date "$date" --arg cmd "$cmdline" \
		--arg commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
		--arg dirty "$(git -C "$root" status --porcelain 2>/dev/null | head -c 1)" \
		--argjson ncpu "$(nproc)" --arg kernel "$(uname -r)" \
		--arg load_start "$load_start" --arg load_end "$load_end" \
		'{date: $date, command: $cmd, commit: $commit, dirty: ($dirty != ""),
		  machine: {cpus: $ncpu, kernel: $kernel, load_start: $load_start, load_end: $load_end},
		  ($part): .}' "$2" >"$results"
	# Its tables, as the report prints them.
	python3 "$root/bench/report.py" --summary "$results" >&2
	log "results: $results ($1 only, ${SECONDS}s)"
	exit 0
}

if [ "$only" = nginx ]; then
	nginx_section
	only_results nginx <(nginx_results)
fi

# ---------------------------------------------------------------- LTTng
lttng_status="not attempted"
lttng_setup() {
	if ! command -v lttng >/dev/null || ! command -v lttng-sessiond >/dev/null; then
		lttng_status="skipped: lttng-tools not installed (apt-get install lttng-tools)"
		return
	fi
	export LTTNG_HOME="$work/lttng-home"
	mkdir -p "$LTTNG_HOME"
	if ! lttng list >/dev/null 2>&1; then
		lttng-sessiond --no-kernel >"$work/sessiond.log" 2>&1 &
		sessiond_pid=$!
		local i
		for i in $(seq 50); do
			lttng list >/dev/null 2>&1 && break
			kill -0 "$sessiond_pid" 2>/dev/null || break
			sleep 0.1
		done
		if ! lttng list >/dev/null 2>&1; then
			lttng_status="skipped: lttng-sessiond did not start ($(tail -n 1 "$work/sessiond.log" 2>/dev/null))"
			kill "$sessiond_pid" 2>/dev/null || true
			sessiond_pid=""
			return
		fi
	fi
	lttng_session="spanring-bench-$$"
	if lttng create "$lttng_session" --snapshot >"$work/lttng.log" 2>&1 &&
		lttng enable-event -u -s "$lttng_session" 'spanring_bench:*' >>"$work/lttng.log" 2>&1 &&
		lttng start "$lttng_session" >>"$work/lttng.log" 2>&1; then
		lttng_status="active: snapshot-mode session, event spanring_bench:*"
	else
		lttng_status="skipped: could not create the session ($(tail -n 1 "$work/lttng.log"))"
		lttng destroy "$lttng_session" >/dev/null 2>&1 || true
		lttng_session=""
	fi
}
if [ -z "$only" ]; then
	lttng_setup
	log "LTTng: $lttng_status"
fi

# ---------------------------------------------------------------- google-benchmark
if [ $quick = 1 ]; then
	export SR_BENCH_QUICK=1
	gb_hot=(--benchmark_min_time=0.01 --benchmark_repetitions=1)
	cg_iters=20000
	proc_spans=2000
	rounds=1; duration=1; warmup=0; conns_list=(8)
	ol_pcts=(50); ol_duration=1; ol_warmup=0.3; cg_requests=300
else
	unset SR_BENCH_QUICK
	gb_hot=(--benchmark_min_time=0.2 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true)
	cg_iters=100000
	proc_spans=20000
	# Short interleaved rounds: neighbours' load comes in bursts, and
	# many short rounds spread it over the variants more evenly.
	# 64@1: 64 connections, each waiting 1 ms between requests (about
	# half of saturation here): the operating point of a server with
	# headroom, beside the two saturated ones.
	rounds=5; duration=3; warmup=1; conns_list=(8 64 64@1)
	# Open loop: percentages of the compiled-out build's saturated rate.
	ol_pcts=(25 50 75); ol_duration=3; ol_warmup=1; cg_requests=2000
fi
ol_conns=16
cg_warmup=200
[ -z "$rounds_opt" ] || rounds=$rounds_opt

if [ -z "$only" ]; then
log "hot path (google-benchmark)"
"$bench" --benchmark_filter=-BM_pipeline "${gb_hot[@]}" \
	--benchmark_format=console --benchmark_out_format=json \
	--benchmark_out="$work/hot.json" >&2
log "pipeline (google-benchmark)"
"$bench" --benchmark_filter=BM_pipeline \
	--benchmark_format=console --benchmark_out_format=json \
	--benchmark_out="$work/pipeline.json" >&2

log "instructions per op (callgrind, $cg_iters ops each)"
"$root/bench/callgrind.sh" "$bench" "$work/callgrind" "$cg_iters"
log "instructions per span of each processor (callgrind, $proc_spans spans)"
"$root/bench/proc_callgrind.sh" "$bench" "$work/proc-callgrind" "$proc_spans"

# The LTTng session is only needed by the two steps above.
if [ -n "$lttng_session" ]; then
	lttng destroy "$lttng_session" >/dev/null 2>&1 || true
	lttng_session=""
fi
if [ -n "$sessiond_pid" ]; then
	kill "$sessiond_pid" 2>/dev/null || true
	wait "$sessiond_pid" 2>/dev/null || true
	sessiond_pid=""
fi
fi # -z "$only"

# ---------------------------------------------------------------- server
# Waits for a server's port file; prints the port.
wait_port() {
	local i
	for i in $(seq 300); do # 15 s: valgrind starts slowly
		[ -s "$1" ] && { cat "$1"; return 0; }
		sleep 0.05
	done
	return 1
}

# start_server NAME BIN [VAR=VALUE...] [-- ARGS...]: starts it on a free
# port, on the CPUs in srv_pin; sets $port and $spid.
srv_pin=(${pin_server[@]+"${pin_server[@]}"})
start_server() {
	local name=$1 bin=$2 envs=() args=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	args=("$@")
	rm -f "$work/$name.port" "$work/$name.stats"
	env ${envs[@]+"${envs[@]}"} ${srv_pin[@]+"${srv_pin[@]}"} "$bin" ${args[@]+"${args[@]}"} \
		--port 0 --port-file "$work/$name.port" \
		--stats-file "$work/$name.stats" --max-seconds 600 \
		>/dev/null 2>"$work/$name.err" &
	spid=$!
	pids+=("$spid")
	port=$(wait_port "$work/$name.port") || {
		echo "run.sh: server $name did not start:" >&2
		cat "$work/$name.err" >&2
		exit 1
	}
}

stop_server() {
	kill -TERM "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
}

# The third variant: OTLP into a local sink when the otlp exporter is
# built in, else the console exporter writing to /dev/null.
sink_port=""
if OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 \
	"$server_on" --probe >/dev/null 2>&1; then
	# The collector stands for another machine: it runs on wrk's core,
	# not on the server's.
	srv_pin=(${pin_client[@]+"${pin_client[@]}"})
	start_server sink "$server_off" -- --sink
	srv_pin=(${pin_server[@]+"${pin_server[@]}"})
	sink_port=$port
	sink_pid=$spid
	exporter_variant=otlp
	exporter_env=(OTEL_TRACES_EXPORTER=otlp
		OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port"
		OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)
else
	exporter_variant=console
	exporter_env=(OTEL_TRACES_EXPORTER=console)
fi
# The traced server's library threads (drainer, exporter worker) would
# inherit its pinning and share core 1 with the request loop, where CFS
# wake-up preemption lets them cut into requests.  A latency-sensitive
# deployment keeps them off the hot core: here on wrk's core, standing in
# for a housekeeping core.  Their work is still done, on the other core,
# and charged to the traced variants (wrk loses that time); the spans
# exported and dropped per run show whether they kept up.
[ ${#pin_client[@]} -gt 0 ] || bg_cpus=inherit
bg_env=()
[ "$bg_cpus" = inherit ] || bg_env+=(SPANRING_BACKGROUND_CPUS="$bg_cpus")
[ "$bg_sched" = inherit ] || bg_env+=(SPANRING_BACKGROUND_SCHED="$bg_sched")
log "server: variants off, none, $exporter_variant; connections ${conns_list[*]}; $rounds round(s) of ${duration}s; library threads: CPUs $bg_cpus, class $bg_sched"

# start_variant VARIANT [PREFIX...] [-- SERVER ARGS...]: the variant's
# server, its environment, optionally under PREFIX (valgrind ...).
start_variant() {
	local v=$1 pre=() bin envs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pre+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	case $v in
	off) bin=$server_off ;;
	floor) bin=$server_floor; envs=(${bg_env[@]+"${bg_env[@]}"}) ;;
	none) bin=$server_on; envs=(${bg_env[@]+"${bg_env[@]}"} OTEL_TRACES_EXPORTER=none) ;;
	*) bin=$server_on; envs=(${bg_env[@]+"${bg_env[@]}"} "${exporter_env[@]}") ;;
	esac
	if [ ${#pre[@]} -gt 0 ]; then
		start_server "$v" "${pre[0]}" ${envs[@]+"${envs[@]}"} -- \
			"${pre[@]:1}" "$bin" "$@"
	else
		start_server "$v" "$bin" ${envs[@]+"${envs[@]}"} -- "$@"
	fi
}

variants=(off none "$exporter_variant")
# The open-loop and callgrind runs add the floor (server/floor_trace.h):
# the same spans and propagation by hand, the least they cost, so the
# tables show how far the library is from it and not only from off.
variants_ol=(off floor none "$exporter_variant")
: >"$work/server.jsonl"
url_path=/api/users/42
for round in $(seq "$rounds"); do
	for load in "${conns_list[@]}"; do
		conns=${load%@*}
		think=0
		[ "$load" = "$conns" ] || think=${load#*@}
		# Rotate the order every round so drift hits every variant alike.
		for k in 0 1 2; do
			v=${variants[$(((k + round - 1) % 3))]}
			# --poll for all three: see server.c (an idle vCPU's
			# wake-up would otherwise favour the tracing builds).
			start_variant "$v" -- --poll
			if [ "$warmup" -gt 0 ]; then
				"${pin_client[@]}" wrk -t1 -c"$conns" -d"${warmup}s" \
					"http://127.0.0.1:$port$url_path" >/dev/null 2>&1 || true
			fi
			WRK_THINK_MS=$think "${pin_client[@]}" wrk -t1 -c"$conns" -d"${duration}s" --latency \
				-s "$root/bench/server/wrk_report.lua" \
				"http://127.0.0.1:$port$url_path" >"$work/wrk.out" 2>&1 || {
				cat "$work/wrk.out" >&2; exit 1; }
			stop_server
			line=$(grep '^{"requests"' "$work/wrk.out" | tail -n 1)
			stats=$(cat "$work/$v.stats" 2>/dev/null || echo null)
			# conns: a number at saturation; "64@1" (a string) when
			# each connection thinks 1 ms between requests.
			if [ "$think" = 0 ]; then cj=$conns; else cj="\"$load\""; fi
			jq -cn --arg v "$v" --argjson c "$cj" --argjson r "$round" \
				--argjson w "$line" --argjson s "${stats:-null}" \
				'{variant: $v, conns: $c, round: $r, wrk: $w, server: $s}' >>"$work/server.jsonl"
			printf '   round %d c=%-4s %-8s %8.0f req/s  p50 %5d us  p99 %5d us  p99.9 %5d us  spans exported %s dropped %s\n' \
				"$round" "$load" "$v" \
				"$(echo "$line" | jq '.requests / (.duration_us / 1e6)')" \
				"$(echo "$line" | jq '.latency_us.p50')" \
				"$(echo "$line" | jq '.latency_us.p99')" \
				"$(echo "$line" | jq '.latency_us.p99_9')" \
				"$(echo "${stats:-null}" | jq -r '.tracing.exported // "-"')" \
				"$(echo "${stats:-null}" | jq -r '.tracing.dropped // {} | [.[]] | add // "-"')" >&2
		done
	done
done
# ---------------------------------------------------------------- open loop
# The compiled-out build's saturated rate (median over rounds, at the
# saturated connection count where it was highest) sets the open-loop
# rates: 25/50/75 % of it.  The server blocks in epoll_wait here (no
# --poll), as a real one does, so its CPU time is the work it did.
sat_rps=$(jq -s '[.[] | select(.variant == "off" and (.conns | type) == "number")] |
	group_by(.conns) | map([.[].wrk | .requests / (.duration_us / 1e6)] | sort |
	.[length / 2 | floor]) | max // 0 | floor' "$work/server.jsonl")
[ "$sat_rps" -gt 0 ] || { echo "run.sh: no saturated rate for off" >&2; exit 1; }
log "open loop: ${ol_pcts[*]} % of off's saturated $sat_rps req/s; $ol_conns connections; $rounds round(s) of ${ol_duration}s"
: >"$work/openloop.jsonl"
tp_header="traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
for round in $(seq "$rounds"); do
	for pct in "${ol_pcts[@]}"; do
		rate=$((sat_rps * pct / 100))
		for k in 0 1 2 3; do
			v=${variants_ol[$(((k + round - 1) % 4))]}
			start_variant "$v"
			"${pin_client[@]}" "$loadgen" --port "$port" --path "$url_path" \
				--conns "$ol_conns" --rate "$rate" --duration "$ol_duration" \
				--warmup "$ol_warmup" --mark-pid "$spid" --header "$tp_header" \
				>"$work/lg.out" 2>"$work/lg.err" || { cat "$work/lg.err" >&2; exit 1; }
			stop_server
			lg=$(cat "$work/lg.out")
			stats=$(cat "$work/$v.stats" 2>/dev/null || echo null)
			jq -cn --arg v "$v" --argjson pct "$pct" --argjson rate "$rate" \
				--argjson r "$round" --argjson lg "$lg" --argjson s "${stats:-null}" \
				'{variant: $v, pct: $pct, rate: $rate, round: $r, load: $lg, server: $s}' \
				>>"$work/openloop.jsonl"
			tail -n 1 "$work/openloop.jsonl" | python3 "$root/bench/report.py" --line openloop >&2
		done
	done
done

# ---------------------------------------------------------------- callgrind
# Instructions per request: each variant under callgrind for a fixed
# count of requests from one closed-loop connection; the server opens its
# window after cg_warmup requests (zeroing the counters) and closes it
# (dumping the request thread's) at the last.  The library threads'
# counts run from the mark to the exit (they are dumped there), so they
# include the final drain of the window's spans.
log "server under callgrind: $cg_requests requests per variant"
mkdir -p "$work/srv-cg"
: >"$work/srvcg.jsonl"
for v in "${variants_ol[@]}"; do
	rm -f "$work/srv-cg/$v".*
	srv_pin=()
	start_variant "$v" valgrind --tool=callgrind --separate-threads=yes \
		--callgrind-out-file="$work/srv-cg/$v.cg" -- \
		--mark-after "$cg_warmup" --requests "$((cg_warmup + cg_requests))"
	srv_pin=(${pin_server[@]+"${pin_server[@]}"})
	"$loadgen" --port "$port" --path "$url_path" --conns 1 \
		--requests "$((cg_warmup + cg_requests))" --header "$tp_header" \
		>/dev/null 2>"$work/lg.err" || { cat "$work/lg.err" >&2; exit 1; }
	wait "$spid" 2>/dev/null || true
	stats=$(cat "$work/$v.stats" 2>/dev/null || echo null)
	python3 "$root/bench/report.py" --callgrind-server "$v" "$work/srv-cg/$v.cg" \
		"${stats:-null}" >>"$work/srvcg.jsonl"
	tail -n 1 "$work/srvcg.jsonl" | python3 "$root/bench/report.py" --line callgrind >&2
done

sink_stats=null
if [ -n "$sink_port" ]; then
	spid=$sink_pid
	stop_server
	sink_stats=$(cat "$work/sink.stats" 2>/dev/null || echo null)
fi
server_json() {
	jq -n --slurpfile runs "$work/server.jsonl" --argjson sink "$sink_stats" \
		--arg ev "$exporter_variant" --argjson rounds "$rounds" \
		--argjson duration "$duration" --arg cpus "$bg_cpus" --arg sched "$bg_sched" \
		--slurpfile ol "$work/openloop.jsonl" --slurpfile cg "$work/srvcg.jsonl" \
		--argjson sat "$sat_rps" --argjson olc "$ol_conns" --argjson old "$ol_duration" \
		--argjson cgn "$cg_requests" \
		'{exporter_variant: $ev, rounds: $rounds, duration_s: $duration,
		  background: {cpus: $cpus, sched: $sched,
			       note: "SPANRING_BACKGROUND_* of the traced variants; the server thread is alone on its core"},
		  runs: $runs, sink: $sink,
		  open_loop: {saturated_rps_off: $sat, conns: $olc, duration_s: $old, runs: $ol},
		  callgrind: {requests: $cgn, variants: $cg}}'
}

[ -z "$only" ] || only_results server <(server_json)

[ -n "$nginx_skip" ] || nginx_section
[ -z "$nginx_skip" ] || log "nginx: $nginx_skip"

# ---------------------------------------------------------------- results
load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "")
mkdir -p "$(dirname "$results")"
jq -n \
	--arg load_start "$load_start" --arg load_end "$load_end" --argjson seconds "$SECONDS" \
	--arg date "$date" --arg cmd "$cmdline" --argjson quick "$quick" \
	--arg commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--arg dirty "$(git -C "$root" status --porcelain 2>/dev/null | head -c 1)" \
	--arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
	--argjson ncpu "$(nproc)" --arg kernel "$(uname -r)" \
	--arg lttng "$lttng_status" \
	--slurpfile hot "$work/hot.json" --slurpfile pipe "$work/pipeline.json" \
	--slurpfile cg "$work/callgrind/callgrind.json" \
	--slurpfile pcg "$work/proc-callgrind/processors.json" \
	--slurpfile srv <(server_json) --slurpfile ngx <(nginx_results) \
	'{date: $date, command: $cmd, quick: ($quick == 1),
	  commit: $commit, dirty: ($dirty != ""),
	  machine: {cpu: $cpu, cpus: $ncpu, kernel: $kernel,
		    load_start: $load_start, load_end: $load_end,
		    context: ($hot[0].context | del(.executable))},
	  seconds: $seconds,
	  lttng: $lttng,
	  benchmarks: ($hot[0].benchmarks + $pipe[0].benchmarks),
	  callgrind: $cg[0],
	  processors_callgrind: $pcg[0],
	  server: $srv[0],
	  nginx: $ngx[0]}' >"$results"
for f in "$work"/callgrind/*.annotate.txt; do
	[ -e "$f" ] || continue
	n=$(basename "$f" .annotate.txt)
	jq --arg n "$n" --rawfile t "$f" '.callgrind.ops[$n].annotate = $t' "$results" >"$work/r.json" &&
		mv "$work/r.json" "$results"
done
log "results: $results (suite took ${SECONDS}s)"

# Every benchmark must have produced numbers (skips must say why).
missing=$(jq -r '
	(.lttng | startswith("skipped")) as $lttng_skipped |
	[.benchmarks[] | select(.error_occurred == true) | .run_name + ": " + .error_message] as $err |
	[.benchmarks[].run_name] as $names |
	(["BM_floor_tsc","BM_floor_ring","BM_floor_ring_cold","BM_span_bare","BM_span_2attrs","BM_span_8attrs_event",
	  "BM_span_nested3","BM_span_unsampled","BM_span_uninit","BM_span_compiled_out",
	  "BM_lttng_2fields","BM_pipeline_sustained","BM_pipeline_cpu","BM_pipeline_overload",
	  "BM_pipeline_sustained_floor","BM_pipeline_cpu_floor",
	  "BM_pipeline_processor_cost","BM_pipeline_processors_sustained"][] as $b |
	 select([$names[] | startswith($b + "/")] | any | not) | "missing: " + $b),
	($err[] | select($lttng_skipped and startswith("BM_lttng_2fields") | not) | "error: " + .),
	(.callgrind.ops | to_entries[] | select(.value.skipped != null and (.key != "BM_lttng_2fields" or ($lttng_skipped | not))) |
	 "callgrind: " + .key + ": " + .value.skipped)' "$results")
if [ -n "$missing" ]; then
	echo "$missing" >&2
	exit 1
fi

if [ $report = 1 ]; then
	python3 "$root/bench/report.py" "$results" "$docs"
	log "report: $docs"
fi
