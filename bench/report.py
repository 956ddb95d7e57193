#!/usr/bin/env python3
"""report.py - turns one results JSON of bench/run.sh into the Markdown
report (tables) and its SVG plots (gnuplot).

usage:
  bench/report.py RESULTS.json [OUT.md]   the report (default docs/benchmarks.md);
                                          plots go to <OUT without .md>/*.svg
  bench/report.py --summary RESULTS.json  the server and nginx tables, as text
  bench/report.py --line openloop|callgrind   one run's line (JSON on stdin)
                                          as a progress line (run.sh)
  bench/report.py --callgrind-server VARIANT CGFILE STATS
                                          one server callgrind run -> JSON line

Everything printed comes from the JSON: medians of the google-benchmark
repetitions (the single run in --quick mode), callgrind counts, and the
medians (with min-max spread) over the interleaved server rounds.  The
block between the breakdown markers of an existing OUT.md is written by
hand (the per-request analysis) and kept as it is.  Python standard
library; gnuplot (Debian gnuplot-nox) for the plots.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HOT = ["BM_floor_tsc", "BM_floor_ring", "BM_floor_ring_cold", "BM_span_bare",
       "BM_span_2attrs", "BM_span_8attrs_event", "BM_span_nested3",
       "BM_span_unsampled", "BM_span_uninit", "BM_span_compiled_out",
       "BM_lttng_2fields"]
# Span benchmarks that write at least the floor's record bytes (BM_span_bare
# writes one line, the floor two).
SPAN_BENCH = ["BM_span_2attrs", "BM_span_8attrs_event"]
BREAK_BEGIN = "<!-- breakdown:begin (written by hand; report.py keeps it) -->"
BREAK_END = "<!-- breakdown:end -->"
SPANS_PER_REQUEST = 5


# ------------------------------------------------------------ helpers
def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f(x, d=2, unit=""):
    if x is None:
        return "–"
    if d == 0:
        return f"{round(x):d}{unit}"
    return f"{round(x, d):g}{unit}"


def ratio(a, b):
    return a / b if a is not None and b else None


def pct(a, b):
    r = ratio(a, b)
    return None if r is None else (r - 1) * 100


def spread(xs, scale=1.0, d=1):
    """median [min–max] of xs / scale."""
    xs = [x / scale for x in xs if x is not None]
    if not xs:
        return "–"
    m = f(statistics.median(xs), d)
    if len(xs) == 1:
        return m
    return f"{m} [{f(min(xs), d)}–{f(max(xs), d)}]"


def variant_order(v):
    return {"off": 0, "floor": 1, "none": 2}.get(v, 3)


# ------------------------------------------------------------ google-benchmark
class Runs:
    """One entry per benchmark run name: the median aggregate when
    repeated, else the iteration run."""

    def __init__(self, benchmarks):
        by = {}
        for b in benchmarks:
            by.setdefault(b["run_name"], []).append(b)
        self.r = {}
        for name, bs in by.items():
            med = [b for b in bs if b.get("aggregate_name") == "median"]
            it = [b for b in bs if b.get("run_type") == "iteration"]
            self.r[name] = (med or it or bs)[0]

    def one(self, n):
        return self.r.get(n + "/real_time") or self.r.get(n + "/manual_time")

    def two(self, n):
        return self.r.get(n + "/real_time/threads:2")

    @staticmethod
    def ok(b):
        return b is not None and not b.get("error_occurred", False)

    def ns(self, b):
        return b["real_time"] if self.ok(b) else None

    def ips(self, b):
        return b.get("items_per_second") if self.ok(b) else None


def ir(res, n):
    return res.get("callgrind", {}).get("ops", {}).get(n, {}).get("ir_per_op")


# ------------------------------------------------------------ server rows
def wrk_rows(srv):
    groups = {}
    for r in srv.get("runs", []):
        groups.setdefault((str(r["conns"]), r["variant"]), []).append(r)
    rows = []
    for (c, v), rs in groups.items():
        rows.append({
            "conns": rs[0]["conns"], "variant": v, "rounds": len(rs),
            "rps": median([r["wrk"]["requests"] / (r["wrk"]["duration_us"] / 1e6) for r in rs]),
            "p50": median([r["wrk"]["latency_us"]["p50"] for r in rs]),
            "p99": median([r["wrk"]["latency_us"]["p99"] for r in rs]),
            "p999": median([r["wrk"]["latency_us"]["p99_9"] for r in rs]),
            "errors": sum(sum(r["wrk"]["errors"].values()) for r in rs),
            "exported": sum(((r.get("server") or {}).get("tracing") or {}).get("exported", 0) for r in rs),
            "dropped": sum(sum((((r.get("server") or {}).get("tracing") or {}).get("dropped") or {}).values()) for r in rs),
        })
    rows.sort(key=lambda x: (isinstance(x["conns"], str), str(x["conns"]).zfill(8), variant_order(x["variant"])))
    return rows


def lib_cpu(win):
    """ns of the library's threads in a window: (drainer, exporters)."""
    th = win.get("threads_cpu_ns") or {}
    dr = sum(v for k, v in th.items() if k.startswith("sr-drainer"))
    ex = sum(v for k, v in th.items() if k.startswith("sr-exp"))
    return dr, ex


def ol_metrics(run):
    """Per-run numbers of an open-loop run (None where missing)."""
    lg, st = run["load"], run.get("server") or {}
    win = st.get("window") or {}
    req = win.get("requests") or 0
    dr, ex = lib_cpu(win)
    spans = req * SPANS_PER_REQUEST if run["variant"] != "off" else 0
    m = {
        "client_p50": lg["latency_ns"]["p50"], "client_p99": lg["latency_ns"]["p99"],
        "client_p999": lg["latency_ns"]["p99_9"],
        "svc_p50": (win.get("service_ns") or {}).get("p50"),
        "svc_p99": (win.get("service_ns") or {}).get("p99"),
        "svc_p999": (win.get("service_ns") or {}).get("p99_9"),
        "req_cpu": win["request_thread_cpu_ns"] / req if req else None,
        "lib_cpu": (dr + ex) / req if req else None,
        "drainer_cpu": dr / req if req else None,
        "exp_cpu": ex / req if req else None,
        "lib_per_span": (dr + ex) / spans if spans else None,
        "lag_p99": lg["send_lag_ns"]["p99"],
        "achieved": lg["achieved_rps"],
        "unanswered": lg["unanswered"] + lg["overrun"],
    }
    m["total_cpu"] = (m["req_cpu"] + m["lib_cpu"]) if m["req_cpu"] is not None else None
    runs = sum(v for k, v in (win.get("threads_runs") or {}).items()
               if k.startswith("sr-drainer")) if win.get("threads_runs") else None
    wall = (win.get("wall_ns") or 0) / 1e9
    m["drainer_runs_s"] = runs / wall if runs is not None and wall else None
    m["drainer_ns_run"] = dr / runs if runs else None
    tr = st.get("tracing") or {}
    m["exported"] = tr.get("exported", 0)
    m["dropped"] = sum((tr.get("dropped") or {}).values()) + tr.get("floor_dropped", 0)
    return m


def ol_rows(srv):
    ol = srv.get("open_loop") or {}
    groups = {}
    for r in ol.get("runs", []):
        groups.setdefault((r["pct"], r["variant"]), []).append(r)
    rows = []
    for (p, v), rs in groups.items():
        ms = [ol_metrics(r) for r in rs]
        row = {"pct": p, "variant": v, "rate": rs[0]["rate"], "rounds": len(rs)}
        for k in ms[0]:
            row[k] = [m[k] for m in ms]
        rows.append(row)
    rows.sort(key=lambda x: (x["pct"], variant_order(x["variant"])))
    return rows


def ol_med(rows, p, v, k):
    for r in rows:
        if r["pct"] == p and r["variant"] == v:
            return median(r[k])
    return None


# ------------------------------------------------------------ targets
def targets(res):
    R = Runs(res.get("benchmarks", []))
    s2 = R.ns(R.one("BM_span_2attrs"))
    fl = R.ns(R.one("BM_floor_ring"))
    lt = R.ns(R.one("BM_lttng_2fields"))
    us = R.ns(R.one("BM_span_unsampled"))
    un = R.ns(R.one("BM_span_uninit"))
    mal = [b.get("mallocs/op", 0) for n in HOT for b in (R.one(n), R.two(n)) if R.ok(b)]
    cgmal = [o.get("mallocs_per_op") for o in res.get("callgrind", {}).get("ops", {}).values()
             if o.get("mallocs_per_op") is not None]
    scale = ratio(R.ips(R.two("BM_span_2attrs")), R.ips(R.one("BM_span_2attrs")))
    sus = [b.get("zero_drop_spans_per_s") for b in res.get("benchmarks", [])
           if b["run_name"].startswith("BM_pipeline_sustained/1/16384/0")]
    sus = max([x for x in sus if x is not None], default=None)
    i2 = ir(res, "BM_span_2attrs")
    spans_ns = [(n, R.ns(R.one(n))) for n in SPAN_BENCH]
    below = fl is not None and all(t is not None and fl < t for _, t in spans_ns)
    d2 = R.one("BM_span_2attrs") or {}
    d22 = R.two("BM_span_2attrs") or {}
    t = [
        ("BM_span_2attrs ≤ 1.25 × BM_floor_ring", f(ratio(s2, fl), 3, " ×"),
         ratio(s2, fl) is not None and ratio(s2, fl) <= 1.25),
        ("BM_floor_ring below every span benchmark (" + ", ".join(n[3:] for n, _ in spans_ns) + ")",
         f(fl, 1, " ns") + " vs " + ", ".join(f(x, 1) for _, x in spans_ns) + " ns", below),
        ("BM_span_2attrs ≤ 149 instructions/op", f(i2, 0), i2 is not None and round(i2) <= 149),
        ("BM_span_unsampled ≤ 5 ns", f(us, 2, " ns"), us is not None and us <= 5),
        ("BM_span_uninit ≤ 1 ns", f(un, 2, " ns"), un is not None and un <= 1),
        ("zero mallocs on the hot path",
         f"max {f(max(mal, default=None), 4)}/op (timed loops), {f(max(cgmal, default=None), 4)}/op (counted loops)",
         max(mal, default=1) == 0 and max(cgmal, default=1) == 0),
        ("BM_span_2attrs faster than BM_lttng_2fields",
         ("LTTng skipped: " + res.get("lttng", "")) if lt is None else
         f"{f(s2, 1)} ns vs {f(lt, 1)} ns (spanring drops/op {f(d2.get('drops/op'), 3)}; "
         "LTTng overwrites its oldest events, uncounted)",
         lt is not None and s2 is not None and s2 < lt),
        ("2 threads ≥ 1.8 × 1 thread (BM_span_2attrs throughput)",
         f"{f(scale, 2)} × (drops/op: {f(d2.get('drops/op'), 3)} with 1 thread, {f(d22.get('drops/op'), 3)} with 2)",
         scale is not None and scale >= 1.8),
        ("BM_pipeline_sustained/1/16384/0 ≥ 15 M spans/s, zero drops",
         f(sus / 1e6 if sus else None, 2, " M/s"), sus is not None and sus >= 15e6),
    ]
    def floor_of(b, prefix):
        """The same run of the floor (bench_pipeline.cc), or None."""
        name = b["run_name"].replace(prefix, prefix[:-1] + "_floor/", 1)
        return next((x for x in res.get("benchmarks", [])
                     if x["run_name"] == name and Runs.ok(x)), None)

    fsus = next((b.get("zero_drop_spans_per_s") for b in res.get("benchmarks", [])
                 if b["run_name"].startswith("BM_pipeline_sustained_floor/1/16384/0") and Runs.ok(b)), None)
    if fsus is not None:
        name, val, ok = t[-1]
        t[-1] = (name, f"{val}; the floor {f(fsus / 1e6, 2, ' M/s')}", ok)
    for b in res.get("benchmarks", []):
        if b["run_name"].startswith("BM_pipeline_cpu/") and Runs.ok(b):
            rate = b["offered_spans_per_s"]
            fb = floor_of(b, "BM_pipeline_cpu/")
            if b.get("hog"):
                fl_txt = f"; the floor {fb['dropped']:.0f} of {fb['spans']:.0f}" if fb else ""
                t.append((f"defaults hold {rate / 1e6:g} M spans/s from one producer with a CPU hog on the drainer's CPU",
                          f"{b['dropped']:.0f} of {b['spans']:.0f} dropped{fl_txt}", b["dropped"] == 0))
            else:
                fl_txt = f"; the floor {f(fb['library_ns_per_span'], 1)} ns" if fb else ""
                t.append((f"library threads' CPU per span at {rate / 1e3:g} k spans/s offered"
                          + (" ≤ 30 ns" if rate == 400000 else ""),
                          f"{f(b['library_ns_per_span'], 1)} ns ({b['dropped']:.0f} of {b['spans']:.0f} dropped){fl_txt}",
                          b["library_ns_per_span"] <= 30 if rate == 400000 else None))
    srv = res.get("server") or {}
    rows = ol_rows(srv)
    if rows:
        p = 50 if any(r["pct"] == 50 for r in rows) else rows[0]["pct"]
        ev = srv.get("exporter_variant", "otlp")

        def cmp(name, key, v, limit):
            a, b = ol_med(rows, p, v, key), ol_med(rows, p, "off", key)
            fl = ol_med(rows, p, "floor", key)
            d = pct(a, b)
            floor = (f"; the floor {f(fl / 1e3, 2)} µs ({f(pct(fl, b), 1, ' %')})"
                     if fl is not None and b else "")
            return (f"{name}, `{v}` vs `off` at {p} % open-loop load ≤ +{limit} %",
                    f"{f(a / 1e3 if a else None, 2)} vs {f(b / 1e3 if b else None, 2)} µs ({f(d, 1, ' %')}){floor}",
                    d is not None and d <= limit)
        t.append(cmp("request-thread CPU per request", "req_cpu", "none", 4))
        t.append(cmp("total CPU per request (request thread + library threads)", "total_cpu", "none", 6))
        t.append(cmp("total CPU per request (request thread + library threads)", "total_cpu", ev, 12))
        t.append(cmp("service-time p99 inside the server", "svc_p99", "none", 5))
        t.append(cmp("client p99 (from the intended send time)", "client_p99", "none", 5))
        for r in rows:
            if r["variant"] == "none":
                m = median(r["lib_per_span"])
                rate = r["rate"] * SPANS_PER_REQUEST
                t.append((f"library threads' CPU per span in the server at {rate / 1e3:.0f} k spans/s (`none`, {r['pct']} % load)",
                          f(m, 1, " ns"), None))
    for c, rs in group_by(wrk_rows(srv), "conns"):
        off = next((r for r in rs if r["variant"] == "off"), None)
        none = next((r for r in rs if r["variant"] == "none"), None)
        if not off or not none:
            continue
        what = (f"{c.split('@')[0]} connections, {c.split('@')[1]} ms think time" if "@" in str(c)
                else f"{c} connections, saturated")
        d = pct(none["p99"], off["p99"])
        t.append((f"wrk p99 into `none` within 3 % of compiled out ({what})",
                  f"{none['p99']} µs vs {off['p99']} µs ({f(d, 1)} %)", none["p99"] <= off["p99"] * 1.03))
    return t


def group_by(rows, key):
    out = {}
    for r in rows:
        out.setdefault(str(r[key]), []).append(r)
    return list(out.items())


# ------------------------------------------------------------ nginx
NGINX_VARIANTS = ["nomod", "off", "none", "otlp"]


def portable_command(cmd):
    """A command as the reader would type it: the checkout's and the
    temporary directory's paths of this machine left out."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = cmd.replace(root + "/", "")
    return re.sub(r"(?:/tmp|/var/tmp)/[^ ]*", "DIR", cmd)


def nginx_tables(res):
    """bench/nginx/run.sh's table, from its JSON (results .nginx)."""
    ng = res.get("nginx")
    if not ng:
        return []
    if ng.get("skipped"):
        return [f"nginx: {ng['skipped']}."]
    cells, cg = ng.get("cells") or {}, ng.get("callgrind") or {}
    L = [f"`{portable_command(ng.get('command', ''))}`; {ng.get('nginx', '')}; {ng.get('date', '')}; "
         f"load average at its end {ng.get('loadavg_end', '')}.\n",
         "| location | variant | req/s median (min-max) | p50 µs | p99 µs | worker loop CPU µs/req (vs nomod) "
         "| worker CPU µs/req, all threads | spans exported/req | dropped/req | Ir/req, all threads "
         "| Ir added vs nomod (loop + library) |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for loc in ("ret", "proxy"):
        base = cells.get(f"nomod/{loc}") or {}
        b = cg.get(f"nomod/{loc}")
        for v in NGINX_VARIANTS:
            x, i = cells.get(f"{v}/{loc}"), cg.get(f"{v}/{loc}")
            if x is None and i is None:
                continue
            x = x or {}
            loop = x.get("worker_loop_cpu_us_per_req")
            r = pct(loop, base.get("worker_loop_cpu_us_per_req")) if loop is not None and base else None
            rel = "" if r is None or v == "nomod" else f"{r:+.0f} %"
            added = "-"
            if i and b:
                added = (f"{i['ir_per_req'] - b['ir_per_req']:.0f} "
                         f"({i['ir_per_req_loop'] - b['ir_per_req_loop']:.0f} + "
                         f"{i['ir_per_req_library'] - b['ir_per_req_library']:.0f})")
            L.append(f"| /{loc} | {v} | {f(x.get('rps'), 0)} ({f(x.get('rps_min'), 0)}-{f(x.get('rps_max'), 0)}) "
                     f"| {f(x.get('p50_us'), 0)} | {f(x.get('p99_us'), 0)} | {f(loop, 2)}"
                     f"{' (' + rel + ')' if rel else ''} | {f(x.get('worker_cpu_us_per_req'), 2)} "
                     f"| {f(x.get('exported_per_req'), 3)} | {f(x.get('dropped_per_req'), 3)} "
                     f"| {f(i['ir_per_req'], 0) if i else '-'} | {added} |")
    return L


# ------------------------------------------------------------ server tables
def server_tables(res):
    srv = res.get("server") or {}
    L = []
    L.append("| connections | variant | requests/s | p50 (µs) | p99 (µs) | p99.9 (µs) | Δ p99 vs off | socket errors | spans exported / dropped |")
    L.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = wrk_rows(srv)
    offp99 = {str(r["conns"]): r["p99"] for r in rows if r["variant"] == "off"}
    for r in rows:
        d = "" if r["variant"] == "off" or str(r["conns"]) not in offp99 else f(pct(r["p99"], offp99[str(r["conns"])]), 1, " %")
        sp = "–" if r["variant"] == "off" else f"{r['exported']} / {r['dropped']}"
        L.append(f"| {r['conns']} | {r['variant']} | {f(r['rps'], 0)} | {r['p50']} | {r['p99']} | {r['p999']} | {d} | {r['errors']} | {sp} |")
    ol = ol_rows(srv)
    if ol:
        L.append("")
        L.append("Open loop, latency (µs): client from each request's intended send time; service inside the server"
                 " (read that completed the request to the write of its response). Median [min–max] over rounds.")
        L.append("")
        L.append("| load | variant | rate (req/s) | client p50 | client p99 | client p99.9 | service p50 | service p99 | service p99.9 | Δ service p99 | Δ client p99 | generator lag p99 |")
        L.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in ol:
            dsv = "" if r["variant"] == "off" else f(pct(median(r["svc_p99"]), ol_med(ol, r["pct"], "off", "svc_p99")), 1, " %")
            dcl = "" if r["variant"] == "off" else f(pct(median(r["client_p99"]), ol_med(ol, r["pct"], "off", "client_p99")), 1, " %")
            L.append(f"| {r['pct']} % | {r['variant']} | {r['rate']} | {spread(r['client_p50'], 1e3)} | {spread(r['client_p99'], 1e3)} | "
                     f"{spread(r['client_p999'], 1e3)} | {spread(r['svc_p50'], 1e3, 2)} | {spread(r['svc_p99'], 1e3, 2)} | "
                     f"{spread(r['svc_p999'], 1e3, 2)} | {dsv} | {dcl} | {spread(r['lag_p99'], 1e3)} |")
        L.append("")
        L.append("Open loop, CPU per request (µs): the request thread (CLOCK_THREAD_CPUTIME_ID), the library's"
                 " threads (schedstat run time of sr-drainer and sr-exp-*), their sum; the library threads per span"
                 f" ({SPANS_PER_REQUEST} spans a request); how often the drainer was put on a CPU (schedstat: its wake-ups,"
                 " and resumptions after preemption) and its CPU per run. Median [min–max] over rounds.")
        L.append("")
        L.append("| load | variant | request thread | Δ | drainer | exporter workers | total | Δ total | library ns/span | drainer runs/s | drainer µs/run | spans exported / dropped | unanswered |")
        L.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in ol:
            off = r["variant"] == "off"
            dq = "" if off else f(pct(median(r["req_cpu"]), ol_med(ol, r["pct"], "off", "req_cpu")), 1, " %")
            dt = "" if off else f(pct(median(r["total_cpu"]), ol_med(ol, r["pct"], "off", "total_cpu")), 1, " %")
            L.append(f"| {r['pct']} % | {r['variant']} | {spread(r['req_cpu'], 1e3, 2)} | {dq} | "
                     f"{'–' if off else spread(r['drainer_cpu'], 1e3, 3)} | {'–' if off else spread(r['exp_cpu'], 1e3, 3)} | "
                     f"{spread(r['total_cpu'], 1e3, 2)} | {dt} | {'–' if off else spread(r['lib_per_span'], 1, 1)} | "
                     f"{'–' if off else spread(r['drainer_runs_s'], 1, 0)} | {'–' if off else spread(r['drainer_ns_run'], 1e3, 2)} | "
                     f"{'–' if off else str(sum(r['exported'])) + ' / ' + str(sum(r['dropped']))} | {sum(r['unanswered'])} |")
    cg = (srv.get("callgrind") or {}).get("variants") or []
    if cg:
        L.append("")
        L.append(f"Instructions per request under callgrind ({(srv.get('callgrind') or {}).get('requests')} requests, one closed-loop"
                 " connection, after a warm-up): the request thread, and the library threads from the window's start to the exit"
                 " (their final drain included).")
        L.append("")
        L.append("| variant | request thread | Δ vs off | Δ per span | library threads |")
        L.append("|---|---:|---:|---:|---:|")
        base = next((c["request_ir"] for c in cg if c["variant"] == "off"), None)
        for c in sorted(cg, key=lambda c: variant_order(c["variant"])):
            d = None if base is None or c["variant"] == "off" else c["request_ir"] - base
            L.append(f"| {c['variant']} | {f(c['request_ir'], 0)} | {'' if d is None else f(d, 0)} | "
                     f"{'' if d is None else f(d / SPANS_PER_REQUEST, 0)} | {f(c.get('library_ir'), 0)} |")
    return L


def cg_diff(res, a="off", b="none", top=24):
    """Per-function instructions per request, b minus a, largest first."""
    cg = {c["variant"]: c for c in ((res.get("server") or {}).get("callgrind") or {}).get("variants") or []}
    if a not in cg or b not in cg:
        return []
    fa, fb = cg[a].get("functions", {}), cg[b].get("functions", {})
    rows = [(k, fa.get(k, 0.0), fb.get(k, 0.0)) for k in set(fa) | set(fb)]
    rows = [r for r in rows if abs(r[2] - r[1]) >= 0.5]
    rows.sort(key=lambda r: (-abs(r[2] - r[1]), r[0]))
    return rows[:top]


# ------------------------------------------------------------ plots
def gnuplot(script, cwd):
    """Runs in cwd (the data files' directory) so that the SVGs' titles
    name the data files, not a machine path."""
    if shutil.which("gnuplot"):
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, cwd=cwd)
        if r.returncode != 0:  # its warnings (one-point ranges) are noise
            sys.stderr.write(r.stderr)
            raise SystemExit("report.py: gnuplot failed")


def plots(res, plots_dir, tmp):
    R = Runs(res.get("benchmarks", []))
    svg = 'set terminal svg size 760,420 dynamic font "sans,11" background rgb "white"\n'
    nsop = os.path.join(tmp, "nsop.dat")
    with open(nsop, "w") as fh:
        for n in HOT:
            if R.ns(R.one(n)) is not None:
                fh.write(f"{n[3:]}\t{R.ns(R.one(n))}\n")
    scale = os.path.join(tmp, "scale.dat")
    with open(scale, "w") as fh:
        for n in HOT:
            a, b = R.ips(R.one(n)), R.ips(R.two(n))
            if a and b and n != "BM_span_compiled_out":
                fh.write(f"{n[3:]}\t{b / a}\n")
    if os.path.getsize(nsop):
        gnuplot(svg + f'''set output "{plots_dir}/ns_per_op.svg"
set title "Time per operation, one thread (median, ns)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set xtics rotate by -35 noenhanced
set ylabel "ns/op"
set grid ytics
unset key
plot "nsop.dat" using 2:xtic(1) lc rgb "#3b6ea8"
''', tmp)
        gnuplot(svg + f'''set output "{plots_dir}/scaling.svg"
set title "Scaling: throughput with 2 threads / with 1 (2 = linear)"
set style fill solid 0.8 border -1
set boxwidth 0.6
set xtics rotate by -35 noenhanced
set ylabel "2-thread / 1-thread throughput"
set yrange [0:*]
set offsets 0, 0, 0.3, 0
set grid ytics
set key noenhanced horizontal tmargin center
plot "scale.dat" using 0:2:xtic(1) with boxes title "measured" lc rgb "#3b6ea8", \\
     1.8 with lines dt 2 lc rgb "#d9822b" title "target for span_2attrs (1.8)", \\
     2 with lines lc rgb "#888888" title "linear"
''', tmp)
    # Open loop: client and service p99 against the offered rate.
    rows = ol_rows(res.get("server") or {})
    cmds = []
    for v in sorted({r["variant"] for r in rows}, key=variant_order):
        dat = os.path.join(tmp, f"ol_{v}.dat")
        with open(dat, "w") as fh:
            for r in rows:
                if r["variant"] == v:
                    fh.write(f"{r['rate']}\t{median(r['client_p99']) / 1e3}\t{median(r['svc_p99']) / 1e3}\n")
        cmds.append(f'"ol_{v}.dat" using 1:2 with linespoints title "{v}: client p99"')
        cmds.append(f'"ol_{v}.dat" using 1:3 with linespoints dt 2 title "{v}: service p99"')
    if cmds:
        gnuplot(svg + f'''set output "{plots_dir}/server_open_loop.svg"
set title "Open loop: p99 latency by offered rate (median of rounds, µs)"
set xlabel "offered requests/s"
set ylabel "p99 (µs)"
set logscale y
set grid
set key top left noenhanced
plot {", ".join(cmds)}
''', tmp)


# ------------------------------------------------------------ markdown
def keep_breakdown(out):
    try:
        old = open(out, encoding="utf-8").read()
    except OSError:
        return None
    a, b = old.find(BREAK_BEGIN), old.find(BREAK_END)
    return old[a:b + len(BREAK_END)] if a >= 0 and b > a else None


def procs(res, w):
    """The processor chain (bench_processors.cc, proc_callgrind.sh)."""
    R = Runs
    cost = [b for b in res.get("benchmarks", [])
            if b["run_name"].startswith("BM_pipeline_processor_cost/") and R.ok(b)]
    sus = [b for b in res.get("benchmarks", [])
           if b["run_name"].startswith("BM_pipeline_processors_sustained/") and R.ok(b)]
    pcg = res.get("processors_callgrind") or {}
    if not (cost or sus or pcg):
        return
    w("""
Processors on the drainer (`bench/bench_processors.cc`, docs/processors.md). `BM_pipeline_processor_cost/C`:
one producer records the `BM_span_2attrs` span (one in eight with an e-mail address to mask) at 300 k spans/s
through the chain C; per processor its time in `process()` per span it was given, and the drainer's run time
per span for the whole chain. Instructions per span: `bench/proc_callgrind.sh` (callgrind, `--toggle-collect`
on each processor's process function, callees included; `stage` is the whole chain with its bookkeeping).
""")
    if cost:
        w("| chain | processor ns/span | drainer ns/span | dropped |")
        w("|---|---|---:|---:|")
        for b in cost:
            per = ", ".join(f"{k[:-len('_ns_per_span')]} {f(v, 0)}" for k, v in b.items()
                            if k.endswith("_ns_per_span") and k != "drainer_ns_per_span")
            w(f"| `{b.get('label', '')}` | {per} | {f(b['drainer_ns_per_span'], 0)} | {b['dropped']:.0f} |")
    if pcg.get("runs"):
        w("")
        w("| chain | processor | instructions/span |")
        w("|---|---|---:|")
        for r in pcg["runs"]:
            w(f"| `{r['chain']}` | {r['processor']} | {f(r['ir_per_span'], 0)} |")
    if sus:
        w("")
        w("| producers | chain | zero-drop rate (spans/s) | full speed (spans/s) |")
        w("|---:|---|---:|---:|")
        for b in sus:
            w(f"| {b['producers']:.0f} | `{b.get('label', '')}` | {f(b['zero_drop_spans_per_s'] / 1e6, 2)} M | "
              f"{f(b['full_speed_spans_per_s'] / 1e6, 2)} M |")


def markdown(res, out, plots_rel, breakdown):
    R = Runs(res.get("benchmarks", []))
    m = res.get("machine", {})
    srv = res.get("server") or {}
    L = []
    w = L.append
    w("# Benchmarks\n")
    w("What a span costs, how it scales, what it does to a server's latency and CPU, and how that compares")
    w("with the hardware floor and with LTTng-UST — measured side by side in one run of `bench/run.sh`.")
    w(f"This page is generated by `bench/report.py` from `bench/results/{res['date']}.json`; do not edit it by hand,")
    w("except the per-request breakdown between its markers, which the generator keeps.\n")
    loads = [x for x in (m.get("load_start"), m.get("load_end")) if x]
    busy = max([float(x.split()[0]) for x in loads], default=0) > m.get("cpus", 2) / 2
    w("| | |")
    w("|---|---|")
    w(f"| command | `{res['command']}` |")
    w(f"| date (UTC) | {res['date']}" + (" (**--quick**: smoke run, numbers are not meaningful)" if res.get("quick") else "") + " |")
    w(f"| commit | {res['commit']}" + (" (with uncommitted changes)" if res.get("dirty") else "") + " |")
    w(f"| machine | {m.get('cpu', '?')}, {m.get('cpus')} CPUs, Linux {m.get('kernel')} |")
    w(f"| load average (1, 5, 15 min) | at start {m.get('load_start', '?')}; at end {m.get('load_end', '?')}"
      + (" — **other work shared the machine during this run: times and latency percentiles are inflated by it;"
         " instruction counts are not**" if busy else "") + " |")
    w(f"| suite duration | {res.get('seconds', 0)} s |")
    w(f"| LTTng-UST | {res.get('lttng', '')} |")
    w(f"| server exporter variant | {srv.get('exporter_variant', '')} |")
    w("")
    w("## Targets\n")
    w("| target | measured | |")
    w("|---|---|---|")
    for t, meas, ok in targets(res):
        w(f"| {t} | {meas} | {'reported' if ok is None else 'met' if ok else '**missed**'} |")
    w("")

    w("## Hot path, one thread\n")
    w(f"Median ns per operation (google-benchmark, real time, {'1 repetition' if res.get('quick') else '5 repetitions'}), the ratios to")
    w("the floor (what a `BM_span_2attrs` end must do at minimum: two TSC reads, the same 128 record bytes copied")
    w("by cache line into the thread's SPSC ring, consumed by the drainer's own policy; `_cold`: the same with the")
    w("ring's lines evicted first, as between a server's requests) and to the LTTng-UST tracepoint with the same")
    w("payload, instructions per operation (callgrind, `BM_empty` subtracted), heap allocations and pipeline drops")
    w("per operation inside the timed loop. `BM_span_nested3` is one operation of three spans.\n")
    w("| benchmark | ns/op | × floor_ring | × lttng | instructions/op | mallocs/op | drops/op |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    fl, lt = R.ns(R.one("BM_floor_ring")), R.ns(R.one("BM_lttng_2fields"))
    for n in HOT:
        b = R.one(n)
        if b is None:
            continue
        if R.ok(b):
            w(f"| `{n}` | {f(R.ns(b), 2)} | {f(ratio(R.ns(b), fl), 2)} | {f(ratio(R.ns(b), lt), 2)} | "
              f"{f(ir(res, n), 0)} | {f(b.get('mallocs/op'), 3)} | {f(b.get('drops/op'), 4)} |")
        else:
            w(f"| `{n}` | skipped: {b.get('error_message', 'not run')} | | | | | |")
    w(f"\n![ns per operation]({plots_rel}/ns_per_op.svg)\n")

    w("## Scaling: one thread vs two\n")
    w("Throughput of all threads together (M operations/s, wall clock). The machine has two cores,")
    w("and the pipeline's drainer thread (or the floor's consumer) needs one too.\n")
    w("| benchmark | 1 thread | 2 threads | 2 / 1 | drops/op (2 threads) |")
    w("|---|---:|---:|---:|---:|")
    for n in HOT:
        a, b = R.one(n), R.two(n)
        if n == "BM_span_compiled_out" or not R.ok(a):
            continue
        w(f"| `{n}` | {f(R.ips(a) / 1e6, 2)} | {f(R.ips(b) / 1e6, 2) if R.ok(b) else '–'} | "
          f"{f(ratio(R.ips(b), R.ips(a)), 2)} | {f(b.get('drops/op'), 4) if R.ok(b) else '–'} |")
    w(f"\n![scaling]({plots_rel}/scaling.svg)\n")

    w("## Pipeline under load\n")
    w("""`BM_pipeline_sustained/P/R/B`: P producer threads record the `BM_span_2attrs` span into rings of R
records, exporter `none`; the highest paced rate with zero drops (bisection), and what
happens at full speed. B is how a paced producer waits for its schedule: 0, idle (more than
100 µs ahead, it sleeps, as an application thread waiting for work does; then it records what
is due as fast as it can); 1, busy (it spins, as a CPU-bound application: with P = 2 both cores
are always taken, and the drainer runs only when the scheduler preempts a producer, which can
take a whole tick). A rate counts only when two trials in a row at it drop nothing. Each
trial starts with the drainer idle at its longest pause (`drainer_max_sleep_us`); before the
rings had a doorbell (a producer at half a ring wakes the drainer) a ring had to hold what its
producer recorded in that pause, which bounded the R = 1024 row below 1 M spans/s.
""")
    w("| run | zero-drop rate (spans/s) | full speed (spans/s) | dropped at full speed |")
    w("|---|---:|---:|---:|")
    for b in res.get("benchmarks", []):
        if b["run_name"].startswith(("BM_pipeline_sustained/", "BM_pipeline_sustained_floor/")) and R.ok(b):
            w(f"| `{b['run_name'].replace('/iterations:1/manual_time', '')}` | {f(b['zero_drop_spans_per_s'] / 1e6, 2)} M | "
              f"{f(b['full_speed_spans_per_s'] / 1e6, 2)} M | {f(b['full_speed_drop_ratio'] * 100, 1)} % |")
    cpu = [b for b in res.get("benchmarks", [])
           if b["run_name"].startswith(("BM_pipeline_cpu/", "BM_pipeline_cpu_floor/")) and R.ok(b)]
    if cpu:
        w("""
`BM_pipeline_cpu/RATE/HOG`: what the library's own threads cost per span. One producer on CPU 0 records
the `BM_span_2attrs` span at RATE spans/s (idle pacing) into the default configuration (1024-record rings,
the drainer sleeping until a ring would be half full at its rate, at most 20 ms, a producer at half a ring
waking it sooner; exporter `none`; `SPANRING_*` variables in the environment apply), the library's threads on CPU 1
(`SPANRING_BACKGROUND_CPUS=1`); their run time (schedstat of `sr-drainer`, `sr-exp-*`) divided by the spans.
Drainer runs count every time it was put on a CPU (wake-ups and resumptions after preemption); wake-ups
are its pauses that ended (`sr_stats_t.drainer_wakeups`), of which the producer's doorbell ended
`doorbell_rings`. HOG = 1: a thread spins on CPU 1 throughout, a busy neighbour on the drainer's core.
""")
        w("| run | achieved (spans/s) | library ns/span | drainer ns/span | exporter ns/span | drainer runs/s | wake-ups/s (by doorbell) | dropped |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for b in cpu:
            wk = b.get("drainer_wakeups_per_s")
            wake = "–" if wk is None else f"{f(wk, 0)} ({f(b.get('doorbell_rings_per_s', 0), 0)})"
            w(f"| `{b['run_name'].replace('/iterations:1/manual_time', '')}` | {f(b['achieved_spans_per_s'] / 1e6, 3)} M | "
              f"{f(b['library_ns_per_span'], 1)} | {f(b['drainer_ns_per_span'], 1)} | {f(b['exporter_ns_per_span'], 1)} | "
              f"{f(b['drainer_runs_per_s'], 0)} | {wake} | {b['dropped']:.0f} of {b['spans']:.0f} ({f(100 * b['dropped'] / b['spans'], 1)} %) |")
    procs(res, w)
    w("""
`BM_pipeline_overload`: a fixed count of spans offered at 10 × what the exporter takes (an
exporter that accepts a fixed number of spans/s and sleeps the rest, like a slow collector).
Memory must stay at what `sr_init` fixed: `pipeline_bytes`, of which the rings take
max_threads × ring_records × 256 B; RSS growth is measured across the load.
""")
    w("| offered | exporter takes | spans | exported | dropped (ring full / queue full) | pipeline_bytes | rings' share | RSS growth at init | RSS growth under load |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def mib(x):
        return f(x / 1048576, 1, " MiB")
    for b in res.get("benchmarks", []):
        if b["run_name"].startswith("BM_pipeline_overload") and R.ok(b):
            w(f"| {f(b['offered_spans_per_s'] / 1e6, 2)} M/s | {f(b['exporter_spans_per_s'] / 1e6, 2)} M/s | {b['spans']:.0f} | "
              f"{b['exported']:.0f} | {b['dropped']:.0f} ({b['dropped_ring_full']:.0f} / {b['dropped_queue_full']:.0f}) | "
              f"{mib(b['pipeline_bytes'])} | {mib(b['ring_bytes_bound'])} | {mib(b['rss_init_growth_bytes'])} | {mib(b['rss_load_growth_bytes'])} |")
    w("")

    w("## A real server\n")
    ev = srv.get("exporter_variant", "")
    bg = srv.get("background")
    ol = srv.get("open_loop") or {}
    w(f"""`spanring-bench-server` (one epoll thread, HTTP/1.1 keep-alive; per request: extract the caller's
traceparent, a SERVER span with four children, inject into the response) on its own core, the load
generator on the other; the three builds interleaved, {srv.get('rounds')} round(s), order rotated each round;
medians over rounds. `off`: built with `-DSR_COMPILED_OUT`; `none`: tracing on into the `none`
exporter; `{ev}`: tracing on into that exporter""" +
      (" (OTLP/HTTP to a local sink on loopback, on the load generator's core)." if ev == "otlp" else " (its output to /dev/null).") +
      " The traced variants' library threads (drainer, exporter worker): " +
      ("inherited the server's pinning (same core)." if bg is None else
       f"`SPANRING_BACKGROUND_CPUS={bg['cpus']}`, `SPANRING_BACKGROUND_SCHED={bg['sched']}`" +
       (" (on the server's core)." if bg["cpus"] == "inherit" else
        ": the request loop has its core to itself, and their work shares the load generator's core.")))
    w(f"""
**Closed loop at saturation** (`wrk -t1 -cN -d{srv.get('duration_s')}s`, the server polling: `--poll`, epoll_wait with
a zero timeout, yielding when idle, so that no variant pays for waking a halted vCPU). wrk
sends each connection's next request when the last is answered, so these percentiles follow the
server's CPU time per request *and* every cycle the library threads take from wrk's core: they
measure the set-up as much as the library. Kept for comparison with earlier runs.

**Open loop** (`spanring-loadgen --conns {ol.get('conns')} --rate R --duration {ol.get('duration_s')}`, R = 25/50/75 % of `off`'s saturated
{ol.get('saturated_rps_off')} requests/s above; the server blocking in epoll_wait, as a real one does): requests go out on a
fixed schedule whether or not earlier answers came back, and each latency runs from the request's
intended send time, so a stall is charged to every request it delayed (no coordinated omission).
The server measures itself over the same window (the generator signals its start and end): service
time with the TSC, its thread's CPU time, and the library threads' run time. "generator lag" is how
late the generator itself sent (large values mean the client, not the server, fell behind).

The open-loop and callgrind tables add a fourth build, `floor` (`spanring-bench-server-floor`,
`bench/server/floor_trace.h`): the same five spans, attributes and propagation written out by hand
with the least each needs (the same records into the same ring, consumed by the drainer's own loop on
the same CPU; the library's SIMD traceparent parser and formatter; one pass over the headers; parents
passed by hand, no scopes, sampling, registry or stats). Where `none` misses a target, the floor's
column says how much of the miss any tracer of these spans would pay on this machine.
""")
    w("\n".join(server_tables(res)))
    w(f"\n![open loop]({plots_rel}/server_open_loop.svg)\n")
    diff = cg_diff(res, "off", "none")
    if diff:
        w("Where the instructions of a traced request go: self instructions per request by source file and")
        w("function under callgrind, `none` minus `off` (largest differences first):\n")
        w("```")
        w(f"{'none-off':>9} {'off':>8} {'none':>8}  file:function")
        for k, a, b in diff:
            w(f"{b - a:9.1f} {a:8.1f} {b:8.1f}  {k}")
        w("```\n")
    if breakdown:
        w(breakdown)
        w("")

    if res.get("nginx"):
        w("## nginx, the second real server\n")
        w("""Debian's nginx with `ngx_http_spanring_module` ([nginx.md](nginx.md)), measured by
`bench/nginx/run.sh`: one worker on core 1, wrk on core 0, `return 200` (`/ret`) and a location
proxied to a second nginx (`/proxy`); without the module (`nomod`), loaded with tracing off (`off`),
tracing every request into `none` and into `otlp` (a local OTLP/HTTP sink).  Times are medians of
interleaved rounds; instructions (callgrind, nginx with `master_process off`, every thread) repeat
where times do not.  The analysis of where the instructions go is in [nginx.md](nginx.md#cost).
""")
        w("\n".join(nginx_tables(res)))
        w("")

    others = [(k, b) for k, b in sorted(R.r.items())
              if not re.match(r"^(BM_empty|BM_pipeline_[a-z]+|" + "|".join(HOT) + ")/", k)]
    if others:
        w("## Other benchmarks in this run\n")
        w("Benchmarks of other areas (`bench/bench_*.cc`), medians as above.\n")
        w("| benchmark | time | items/s | instructions/op | counters |")
        w("|---|---:|---:|---:|---|")
        for k, b in others:
            ctr = ", ".join(f"{ck}={f(cv, 3)}" for ck, cv in b.items()
                            if ck != "items_per_second" and re.search(r"/op$|_per_|bytes", ck) and isinstance(cv, (int, float)))
            ips = b.get("items_per_second") if R.ok(b) else None
            w(f"| `{k}` | {f(b['real_time'], 2) + ' ' + b['time_unit'] if R.ok(b) else 'skipped: ' + b.get('error_message', '')} | "
              f"{f(ips / 1e6, 2) + ' M' if ips else ''} | {'' if 'threads:' in k else f(ir(res, re.sub('/real_time$', '', b['run_name'])), 0)} | {ctr} |")
        w("")

    w("## Where the instructions go\n")
    w("`callgrind_annotate` of the counted loops, divided by the operation count (instructions per")
    w("operation, by source file and function, self cost: the rows add up to the total). Shown for every")
    w("benchmark whose target was missed, and for `BM_span_2attrs` always.\n")
    names = {"BM_span_2attrs"}
    for t, _, ok in targets(res):
        mm = re.search(r"(BM_span_[a-z0-9_]+)", t)
        if ok is False and mm:
            names.add(mm.group(1))
    for n in sorted(names):
        txt = res.get("callgrind", {}).get("ops", {}).get(n, {}).get("annotate")
        if txt:
            w(f"### `{n}`\n\n```\n{txt.rstrip()}\n```\n")

    tsc = R.ns(R.one("BM_floor_tsc"))
    w(f"""## Method

- `bench/run.sh` builds a Release tree (with -g for the profiles), starts `lttng-sessiond` and a
  snapshot-mode session when it can, runs `spanring-bench` (hot path: 5 repetitions, medians; then the
  pipeline benchmarks), `bench/callgrind.sh` (100 000 operations each under
  `valgrind --tool=callgrind`, `BM_empty` subtracted), then the server under wrk, under the open-loop
  generator and under callgrind, and writes `bench/results/<date>.json` and this page
  (`bench/report.py`). `bench/run.sh --quick` runs every part briefly.
- Span benchmarks run the real pipeline: `sr_init` with the `none` exporter, rings of 16384
  records (at 10+ M spans/s the default 1024-record ring would overflow while the drainer
  wakes: the benchmark would then time the drop path). The floor uses
  rings of the same size and a consumer running the drainer's own pause policy.
- Every 2048 operations the timer pauses until the consumer has emptied the rings, so the
  time is that of the path that records (a producer flat out outruns the drainer on two cores
  and would otherwise time the cheaper drop path); `drops/op` shows any drop in the timed
  windows. What the pipeline sustains without pauses is `BM_pipeline_sustained`'s answer.
- `mallocs/op`: the benchmark executable interposes malloc and friends and counts per thread
  inside the timed loop; `drops/op`: the pipeline's drop counters over the same window.
- `spanring-bench` links the static library; a shared-library build adds a PLT jump per call.
- Numbers are this machine's ({m.get('cpu', '?')}, {m.get('cpus')} CPUs). One TSC read costs {f(tsc, 1)} ns here
  (`BM_floor_tsc`; a few ns on bare metal, more where a hypervisor traps it), and every recorded span
  takes two, as the floor does.""")
    return "\n".join(L) + "\n"


# ------------------------------------------------------------ run.sh helpers
def callgrind_server(variant, cgfile, stats):
    """One server run under callgrind: the request thread's window dump
    (<cgfile>.1-01) and the other threads' final dumps (<cgfile>-NN)."""
    st = json.loads(stats) if stats and stats != "null" else {}
    win = st.get("window") or {}
    n = win.get("requests") or 0
    main = cgfile + ".1-01"
    total = 0
    funcs = {}
    text = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", main],
                          capture_output=True, text=True).stdout
    for line in text.splitlines():
        mt = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+PROGRAM TOTALS", line)
        if mt:
            total = int(mt.group(1).replace(",", ""))
            continue
        mr = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S+?):(\S.*?)(?: \[.*\])?$", line)
        if not mr or total == 0:
            continue
        v = int(mr.group(1).replace(",", ""))
        if v >= total * 0.99:  # frames still open at the dump, not self cost
            continue
        fn = os.path.basename(mr.group(2))
        key = mr.group(3) if fn == "???" else f"{fn}:{mr.group(3)}"
        funcs[key] = funcs.get(key, 0) + v
    lib = 0
    d = os.path.dirname(cgfile) or "."
    for name in os.listdir(d):
        mm = re.fullmatch(re.escape(os.path.basename(cgfile)) + r"-(\d+)", name)
        if mm and mm.group(1) != "01":
            for line in open(os.path.join(d, name)):
                if line.startswith(("summary:", "totals:")):
                    lib += int(line.split()[1])
                    break
    out = {"variant": variant, "requests": n,
           "request_ir": total / n if n else None,
           "library_ir": lib / n if n else None,
           "functions": {k: round(v / n, 2) for k, v in funcs.items() if n and v / n >= 0.5}}
    return json.dumps(out)


def progress_line(kind, line):
    r = json.loads(line)
    if kind == "openloop":
        m = ol_metrics(r)
        return (f"   round {r['round']} {r['pct']:3d} % {r['variant']:<8} {r['rate']:7d} req/s  client p99 {m['client_p99'] / 1e3:8.1f} us"
                f"  service p50/p99 {m['svc_p50'] / 1e3 if m['svc_p50'] else 0:6.1f}/{m['svc_p99'] / 1e3 if m['svc_p99'] else 0:7.1f} us"
                f"  cpu/req {m['req_cpu'] / 1e3 if m['req_cpu'] else 0:5.2f} + {m['lib_cpu'] / 1e3 if m['lib_cpu'] else 0:5.2f} us"
                f"  drainer runs/s {m['drainer_runs_s'] or 0:6.0f}"
                f"  lag p99 {m['lag_p99'] / 1e3:7.1f} us  dropped {m['dropped']}")
    return (f"   {r['variant']:<8} {r['request_ir'] or 0:8.0f} instructions/request (request thread), "
            f"{r['library_ir'] or 0:8.0f} (library threads)")


def main(argv):
    if len(argv) >= 2 and argv[1] == "--line":
        print(progress_line(argv[2], sys.stdin.readline()))
        return 0
    if len(argv) == 5 and argv[1] == "--callgrind-server":
        print(callgrind_server(argv[2], argv[3], argv[4]))
        return 0
    if len(argv) == 3 and argv[1] == "--summary":
        res = json.load(open(argv[2]))
        if res.get("server"):
            print("\n".join(server_tables(res)))
        if res.get("nginx"):
            print("\n".join(nginx_tables(res)))
        return 0
    if len(argv) not in (2, 3) or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    res = json.load(open(argv[1]))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = argv[2] if len(argv) == 3 else os.path.join(root, "docs", "benchmarks.md")
    plots_rel = os.path.splitext(os.path.basename(out))[0]
    plots_dir = os.path.join(os.path.dirname(os.path.abspath(out)), plots_rel)
    os.makedirs(plots_dir, exist_ok=True)
    breakdown = keep_breakdown(out)
    with tempfile.TemporaryDirectory(prefix="spanring-report.") as tmp:
        plots(res, plots_dir, tmp)
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(markdown(res, out, plots_rel, breakdown))
    print(f"report.py: wrote {out} and {plots_dir}/*.svg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
