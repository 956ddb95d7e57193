#!/usr/bin/env bash
# run.sh - what tracing with ngx_http_spanring_module costs Debian's nginx.
#
# usage: bench/nginx/run.sh [--quick] [--build-dir DIR] [--no-build]
#                           [--rounds N] [--duration S] [--out DIR]
#                           [--no-callgrind] [--cg-requests N1,N2]
#                           [--no-load] [--variants "nomod off none otlp"]
#                           [--keep]
#   --no-load    callgrind only;  --no-callgrind  load only
#   --keep       keep the work directory (configs, logs, callgrind files)
#
# Variants (one nginx config each):
#   nomod  no load_module
#   off    module loaded, `otel_trace off`
#   none   `otel_trace on`, `otel_trace_context propagate`, exporter none
#   otlp   the same into `otel_exporter { endpoint http://127.0.0.1:SINK }`,
#          SINK being spanring-bench-server-off --sink (a local OTLP/HTTP
#          receiver that reads and discards the bodies, answers 200)
# Locations: /ret (`return 200`) and /proxy (proxy_pass to a second,
# untraced nginx with keepalive, standing for the application behind).
#
# Load: nginx with 1 worker pinned on core 1, wrk (1 thread, 16
# connections, keep-alive) on core 0; the upstream nginx, the sink and the
# module's library threads (SPANRING_BACKGROUND_CPUS=0) on core 0 too, as
# on a housekeeping core.  Rounds interleave the variants (order rotated
# every round); each cell is the median over rounds of: requests/s, p50
# and p99 latency, worker CPU per request from /proc/<pid>/stat (event
# loop thread alone, and the whole worker with the library threads), and
# spans exported / dropped per request (the worker's final sr_stats, which
# it logs at exit).
#
# Instructions: each variant and location under
#   valgrind --tool=callgrind --trace-children=no --separate-threads=yes
# with nginx `master_process off; daemon off;`, N1 then N2 keep-alive
# requests from one client; per request = (Ir(N2) - Ir(N1)) / (N2 - N1),
# which cancels start-up and shutdown (the final flush exports every span
# of both runs, so the export work of the extra requests is included).
# Summed over all threads; the split shows the event loop's thread
# against the library's (drainer, exporter worker).  Instructions repeat
# where times do not, with one exception: what glibc's malloc and free
# cost per call depends on the heap's layout (which bins hold what), and
# nginx allocates on every request, so a variant's heap alone, with no
# code on the request path, moves the loop's count by a few hundred.
# The loop is therefore also given without glibc's allocator functions
# (thread 1's malloc/free internals, from callgrind_annotate).
#
# Writes OUT/nginx-bench.json and prints the table.  Needs: nginx,
# nginx-dev, wrk, valgrind, jq, python3 (scripts/packages.txt).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir="$root/build-bench"
build=1
rounds=3
duration=5
quick=0
callgrind=1
cg_requests="1000,3000"
out=""
cmdline="bench/nginx/run.sh $*"
load=1
keep=0
variants_opt="nomod off none otlp"

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--no-build) build=0 ;;
	--build-dir) build_dir=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--duration) duration=$2; shift ;;
	--out) out=$2; shift ;;
	--no-callgrind) callgrind=0 ;;
	--cg-requests) cg_requests=$2; shift ;;
	--no-load) load=0 ;;
	--variants) variants_opt=$2; shift ;;
	--keep) keep=1 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
if [ "$quick" = 1 ]; then
	rounds=1
	duration=2
	cg_requests="200,600"
fi
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd) # nginx resolves load_module from its prefix
out=${out:-$build_dir/nginx-bench}
cg_n1=${cg_requests%,*}
cg_n2=${cg_requests#*,}

for tool in nginx wrk jq python3; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
		echo "run.sh: $tool missing (scripts/packages.txt)" >&2; exit 2; }
done
[ "$callgrind" = 0 ] || command -v valgrind >/dev/null || {
	echo "run.sh: valgrind missing" >&2; exit 2; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

if [ "$build" = 1 ]; then
	cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
		-DSR_BUILD_BENCH=ON -DSR_BUILD_NGINX=ON >/dev/null
	cmake --build "$build_dir" -j 2 --target ngx_http_spanring_module \
		spanring-bench-server-off >/dev/null
fi
module="$build_dir/nginx/ngx_http_spanring_module.so"
sink_bin="$build_dir/bench/spanring-bench-server-off"
[ -f "$module" ] && [ -x "$sink_bin" ] || {
	echo "run.sh: $module or $sink_bin not built" >&2; exit 2; }

ncpu=$(nproc)
pin_nginx=(); pin_other=()
if [ "$ncpu" -ge 2 ]; then
	pin_nginx=(taskset -c 1)
	pin_other=(taskset -c 0)
fi

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/spanring-nginx-bench.XXXXXX")
chmod 777 "$work" # workers run as nobody when started as root
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	sleep 0.3
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ "$keep" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
log() { echo "[nginx-bench] $*" >&2; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	local i
	for i in $(seq 300); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

temp_paths() {
	local d=$1
	echo "client_body_temp_path $d/body; proxy_temp_path $d/proxy;"
	echo "fastcgi_temp_path $d/fcgi; uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;"
}

# ---- the upstream and the sink: started once, on core 0 ----------------
up_port=$(free_port)
mkdir -p "$work/up"
cat >"$work/up/nginx.conf" <<EOF
worker_processes 1; daemon off; master_process on;
pid $work/up/nginx.pid; error_log $work/up/error.log warn;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000; $(temp_paths "$work/up")
  server { listen 127.0.0.1:$up_port; location / { return 200 "upstream\n"; } } }
EOF
${pin_other[@]+"${pin_other[@]}"} "$nginx_bin" -p "$work/up" -c "$work/up/nginx.conf" &
pids+=($!)
wait_port "$up_port" || { echo "run.sh: upstream nginx did not start" >&2; exit 1; }

${pin_other[@]+"${pin_other[@]}"} "$sink_bin" --sink --port 0 \
	--port-file "$work/sink.port" --max-seconds 3600 >/dev/null 2>"$work/sink.err" &
pids+=($!)
for i in $(seq 100); do [ -s "$work/sink.port" ] && break; sleep 0.1; done
sink_port=$(cat "$work/sink.port")

# conf VARIANT DIR PORT PROCESS_MODE: an nginx config for one variant.
conf() {
	local v=$1 d=$2 port=$3 mode=$4 trace=""
	case "$v" in
	nomod) ;;
	off) trace="otel_trace off;" ;;
	none) trace="otel_trace on; otel_trace_context propagate; spanring_exporter none;" ;;
	otlp) trace="otel_trace on; otel_trace_context propagate;
	      otel_exporter { endpoint http://127.0.0.1:$sink_port; }" ;;
	esac
	[ "$v" = nomod ] || echo "load_module $module;"
	if [ "$mode" = single ]; then
		echo "master_process off; daemon off;"
	else
		echo "worker_processes 1; master_process on; daemon off;"
	fi
	cat <<EOF
pid $d/nginx.pid; error_log $d/error.log notice;
env SPANRING_BACKGROUND_CPUS=${pin_other[2]:-0};
events { worker_connections 1024; }
http {
  access_log off; keepalive_requests 1000000; $(temp_paths "$d")
  upstream up { server 127.0.0.1:$up_port; keepalive 32; }
  $trace
  server {
    listen 127.0.0.1:$port;
    location = /ret { return 200 "ok\n"; }
    location = /proxy { proxy_http_version 1.1; proxy_set_header Connection "";
                        proxy_pass http://up; }
  }
}
EOF
}

# The worker's final counters, from its exit line: "exported dropped".
exit_stats() {
	sed -n 's/.*spanring: worker exit: .*stats \({.*}\)$/\1/p' "$1" | tail -n 1 |
		jq -r '"\(.exported) \(.dropped | add)"' 2>/dev/null || true
}

# cpu_ticks FILE: utime + stime of a /proc stat file.
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$1"
}

to_us() { # wrk's "123.45us" / "1.23ms" / "1.2s" -> microseconds
	awk -v x="$1" 'BEGIN {
		if (x ~ /us$/) { sub(/us$/, "", x); print x + 0 }
		else if (x ~ /ms$/) { sub(/ms$/, "", x); print x * 1000 }
		else if (x ~ /s$/) { sub(/s$/, "", x); print x * 1000000 } }'
}

hz=$(getconf CLK_TCK)
: >"$work/runs.jsonl"

# One load run: start the variant, warm up, measure, quit, collect.
load_run() {
	local v=$1 loc=$2 round=$3 d="$work/$1-$2-$3" port master worker
	local t0 t1 p0 p1 out_wrk reqs rps p50 p99 warm st exported dropped
	mkdir -p "$d"
	port=$(free_port)
	conf "$v" "$d" "$port" master >"$d/nginx.conf"
	${pin_nginx[@]+"${pin_nginx[@]}"} "$nginx_bin" -p "$d" -c "$d/nginx.conf" &
	master=$!
	pids+=("$master")
	wait_port "$port" || { echo "run.sh: nginx ($v) did not start:" >&2; cat "$d/error.log" >&2; exit 1; }
	worker=$(pgrep -P "$master" | head -n 1)
	warm=$(${pin_other[@]+"${pin_other[@]}"} wrk -t1 -c16 -d1s "http://127.0.0.1:$port/$loc" |
		awk '/requests in/ { print $1 }')
	t0=$(cpu_ticks "/proc/$worker/task/$worker/stat")
	p0=$(cpu_ticks "/proc/$worker/stat")
	out_wrk=$(${pin_other[@]+"${pin_other[@]}"} wrk -t1 -c16 -d"${duration}s" --latency \
		"http://127.0.0.1:$port/$loc")
	t1=$(cpu_ticks "/proc/$worker/task/$worker/stat")
	p1=$(cpu_ticks "/proc/$worker/stat")
	kill -QUIT "$master"
	wait "$master" 2>/dev/null || true
	reqs=$(echo "$out_wrk" | awk '/requests in/ { print $1 }')
	rps=$(echo "$out_wrk" | awk '/^Requests\/sec/ { print $2 }')
	p50=$(to_us "$(echo "$out_wrk" | awk '$1 == "50%" { print $2 }')")
	p99=$(to_us "$(echo "$out_wrk" | awk '$1 == "99%" { print $2 }')")
	st=$(exit_stats "$d/error.log")
	exported=${st% *}; dropped=${st#* }
	jq -nc --arg v "$v" --arg loc "$loc" --argjson round "$round" \
		--argjson reqs "$reqs" --argjson warm "${warm:-0}" --argjson rps "$rps" \
		--argjson p50 "$p50" --argjson p99 "$p99" \
		--argjson loop_us "$(awk -v a="$t0" -v b="$t1" -v n="$reqs" -v hz="$hz" 'BEGIN { print (b - a) / hz * 1e6 / n }')" \
		--argjson proc_us "$(awk -v a="$p0" -v b="$p1" -v n="$reqs" -v hz="$hz" 'BEGIN { print (b - a) / hz * 1e6 / n }')" \
		--argjson exported "${exported:-null}" --argjson dropped "${dropped:-null}" \
		'{variant: $v, location: $loc, round: $round, requests: $reqs, rps: $rps,
		  p50_us: $p50, p99_us: $p99, worker_loop_cpu_us_per_req: $loop_us,
		  worker_cpu_us_per_req: $proc_us,
		  exported_per_req: (if $exported == null then null else $exported / ($reqs + $warm) end),
		  dropped_per_req: (if $dropped == null then null else $dropped / ($reqs + $warm) end)}' \
		>>"$work/runs.jsonl"
	log "round $round $v /$loc: $rps req/s, p99 ${p99}us, exported/dropped ${exported:-n/a}/${dropped:-n/a}"
}

read -r -a variants <<<"$variants_opt"
nv=${#variants[@]}
log "nginx $("$nginx_bin" -v 2>&1 | sed 's/.*\///'), $rounds round(s) of ${duration}s, sink :$sink_port, upstream :$up_port, load $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$load" = 1 ] || rounds=0
for round in $(seq "$rounds"); do
	for loc in ret proxy; do
		for k in $(seq 0 $((nv - 1))); do
			load_run "${variants[$(((k + round - 1) % nv))]}" "$loc" "$round"
		done
	done
done

# ---- callgrind ------------------------------------------------------------
cg_client() { # PORT PATH N: N keep-alive requests, one connection
	python3 - "$@" <<'EOF'
import http.client, sys
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for i in range(n):
    c.request("GET", path)
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
c.close()
EOF
}

# Instructions of glibc's allocator in a callgrind file (see the header).
alloc_ir() {
	callgrind_annotate --threshold=100 "$1" 2>/dev/null | awk '
		/libc\.so/ && /:(_int_malloc|_int_free|_int_memalign|_int_realloc|malloc|free|cfree|calloc|realloc|posix_memalign|_mid_memalign|malloc_consolidate|unlink_chunk[^ ]*|systrim[^ ]*|alloc_perturb|tcache_[^ ]*) \[/ {
			gsub(/,/, "", $1); s += $1 }
		END { print s + 0 }'
}

# cg_run VARIANT LOC N -> "total main alloc" instructions of the whole run
# (alloc: glibc's allocator in the event loop's thread)
cg_run() {
	local v=$1 loc=$2 n=$3 d="$work/cg-$1-$2-$3" port pid
	mkdir -p "$d"
	port=$(free_port)
	conf "$v" "$d" "$port" single >"$d/nginx.conf"
	${pin_nginx[@]+"${pin_nginx[@]}"} valgrind --tool=callgrind --trace-children=no \
		--separate-threads=yes --callgrind-out-file="$d/cg.out" \
		"$nginx_bin" -p "$d" -c "$d/nginx.conf" 2>"$d/valgrind.log" &
	pid=$!
	pids+=("$pid")
	wait_port "$port" || { echo "run.sh: nginx under callgrind did not start" >&2; cat "$d/valgrind.log" >&2; exit 1; }
	cg_client "$port" "/$loc" "$n"
	kill -QUIT "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$(awk '/^totals:/ { t += $2; if (FILENAME ~ /-01$/) m += $2 } END { print t, m }' "$d"/cg.out-*) $(alloc_ir "$d/cg.out-01")"
}

cg='{}'
if [ "$callgrind" = 1 ]; then
	for loc in ret proxy; do
		for v in "${variants[@]}"; do
			read -r a1 m1 x1 <<<"$(cg_run "$v" "$loc" "$cg_n1")"
			read -r a2 m2 x2 <<<"$(cg_run "$v" "$loc" "$cg_n2")"
			cg=$(echo "$cg" | jq --arg k "$v/$loc" \
				--argjson all "$(awk -v a="$a1" -v b="$a2" -v n1="$cg_n1" -v n2="$cg_n2" 'BEGIN { print (b - a) / (n2 - n1) }')" \
				--argjson main "$(awk -v a="$m1" -v b="$m2" -v n1="$cg_n1" -v n2="$cg_n2" 'BEGIN { print (b - a) / (n2 - n1) }')" \
				--argjson alloc "$(awk -v a="$x1" -v b="$x2" -v n1="$cg_n1" -v n2="$cg_n2" 'BEGIN { print (b - a) / (n2 - n1) }')" \
				'.[$k] = {ir_per_req: $all, ir_per_req_loop: $main, ir_per_req_library: ($all - $main),
				          ir_per_req_loop_allocator: $alloc}')
			log "callgrind $v /$loc: $(echo "$cg" | jq -c --arg k "$v/$loc" '.[$k]')"
		done
	done
fi

jq -s --arg cmd "$cmdline" --argjson cg "$cg" --arg date "$(date -u +%FT%TZ)" \
	--arg nginx "$("$nginx_bin" -v 2>&1)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" '
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	{command: $cmd, date: $date, nginx: $nginx, loadavg_end: $load, callgrind: $cg,
	 cells: (group_by(.variant + "/" + .location) | map({
		key: (.[0].variant + "/" + .[0].location),
		value: {rounds: length,
			rps: (map(.rps) | median), rps_min: (map(.rps) | min), rps_max: (map(.rps) | max),
			p50_us: (map(.p50_us) | median), p99_us: (map(.p99_us) | median),
			worker_loop_cpu_us_per_req: (map(.worker_loop_cpu_us_per_req) | median),
			worker_cpu_us_per_req: (map(.worker_cpu_us_per_req) | median),
			exported_per_req: (map(.exported_per_req) | if .[0] == null then null else median end),
			dropped_per_req: (map(.dropped_per_req) | if .[0] == null then null else median end)}})
		| from_entries),
	 runs: .}' "$work/runs.jsonl" >"$out/nginx-bench.json"

# ---- the table ----------------------------------------------------------------
jq -r '
	def f(n): if . == null then "-" else (. * pow(10; n) | round) / pow(10; n) | tostring end;
	.cells as $c | .callgrind as $g |
	"command: \(.command)\n\(.nginx); \(.date); load at end \(.loadavg_end)\n",
	"| location | variant | req/s (min-max) | p50 us | p99 us | worker loop CPU us/req | worker CPU us/req (all threads) | spans exported/req | dropped/req | Ir/req all threads | Ir added vs nomod (loop + library) | loop Ir added without glibc allocator |",
	"|---|---|---|---|---|---|---|---|---|---|---|---|",
	(["ret", "proxy"][] as $l | ["nomod", "off", "none", "otlp"][] as $v |
	 ($c["\($v)/\($l)"]) as $x | ($g["\($v)/\($l)"]) as $i | ($g["nomod/\($l)"]) as $b |
	 ($c["nomod/\($l)"]) as $xb |
	 select($x != null or $i != null) |
	 "| /\($l) | \($v) | \($x.rps | f(0)) (\($x.rps_min | f(0))-\($x.rps_max | f(0))) | \($x.p50_us | f(1)) | \($x.p99_us | f(1)) | \($x.worker_loop_cpu_us_per_req | f(2))\(if $x and $xb then " (\((($x.worker_loop_cpu_us_per_req / $xb.worker_loop_cpu_us_per_req - 1) * 100) | f(1))%)" else "" end) | \($x.worker_cpu_us_per_req | f(2)) | \($x.exported_per_req | f(3)) | \($x.dropped_per_req | f(3)) | \(if $i then ($i.ir_per_req | f(0)) else "-" end) | \(if $i and $b then "\(($i.ir_per_req - $b.ir_per_req) | f(0)) (\(($i.ir_per_req_loop - $b.ir_per_req_loop) | f(0)) + \(($i.ir_per_req_library - $b.ir_per_req_library) | f(0)))" else "-" end) | \(if $i and $b and $i.ir_per_req_loop_allocator != null then (($i.ir_per_req_loop - $i.ir_per_req_loop_allocator) - ($b.ir_per_req_loop - $b.ir_per_req_loop_allocator) | f(0)) else "-" end) |")
' "$out/nginx-bench.json"
log "results: $out/nginx-bench.json"
