#!/usr/bin/env python3
"""test_nginx_module.py - ngx_http_spanring_module in a real nginx.

Starts nginx (master + 1 worker, `daemon off`, its own temporary prefix,
127.0.0.1 and free ports) with the module and the `file` exporter, and a
loopback upstream (http.server, in this process) that records the headers
it receives.  Checks, from the spans the worker exported:

  * one SERVER span per traced request, none for untraced ones
    (otel_trace on / off / $variable / $otel_parent_sampled);
  * the right parent: the incoming traceparent's, or none;
  * the HTTP server attributes, the status (ERROR for 5xx), the name
    (location, otel_span_name), otel_span_attr;
  * proxied requests: the upstream saw the same trace id with the nginx
    span's id as parent (and the $otel_span_id it was given), tracestate
    passed on; untraced but propagated: a new id, sampled flag off;
  * otel_exporter: the OTLP/HTTP exporter posts to the endpoint (the same
    loopback server) with the configured header; a `host:port` endpoint
    exports OTLP/gRPC (to tests/receiver/grpc_receiver.py, a real gRPC
    server), every span of the requests sent;
  * reload and graceful quit under load: no span lost silently: every
    request nginx logged has exactly one span or a drop the worker's final
    counters account for (sampled == exported + dropped);
  * bad configuration fails `nginx -t` with a message naming the directive.

Every process it starts is stopped, whatever happens.
usage: test_nginx_module.py --nginx /usr/sbin/nginx --module path/to/.so
                            --grpc-python PY --grpc-receiver grpc_receiver.py
                            [--preload libasan.so] [--keep] [--show]
"""
import argparse
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TP_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TP_PARENT = "00f067aa0ba902b7"
# Traces of the requests that send a header on several lines.
TP_SPLIT = "0af7651916cd43dd8448eb211c80319c"
TP_TWICE = "b7ad6b7169203331b7ad6b7169203331"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream(http.server.ThreadingHTTPServer):
    """Answers 200 and records (path, headers) of every request."""
    daemon_threads = True

    def __init__(self):
        self.seen = []
        self.posts = []
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(h):
                with self.lock:
                    self.seen.append((h.path, {k.lower(): v for k, v in h.headers.items()}))
                body = b"upstream\n"
                h.send_response(200)
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(body)

            def do_POST(h):
                # the OTLP/HTTP exporter posting to otel_exporter's endpoint
                n = int(h.headers.get("Content-Length", 0))
                body = h.rfile.read(n)
                with self.lock:
                    self.posts.append((h.path, {k.lower(): v for k, v in h.headers.items()}, len(body)))
                h.send_response(200)
                h.send_header("Content-Type", "application/x-protobuf")
                h.send_header("Content-Length", "0")
                h.end_headers()

            def log_message(h, *a):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def find(self, path):
        with self.lock:
            return [hd for p, hd in self.seen if p == path]


# Every nginx the test starts: the module, one worker, in the foreground.
NGINX_HEAD = r"""
load_module {module};
worker_processes 1;
daemon off;
master_process on;
"""

CONFIG = NGINX_HEAD + r"""pid {tmp}/nginx.pid;
error_log {tmp}/error.log notice;
env SPANRING_FILE_PATH={tmp}/spans.jsonl;
env OTEL_BSP_SCHEDULE_DELAY=200;
events {{ worker_connections 256; }}
http {{
    log_format traced '$otel_trace_id $status $uri';
    access_log {tmp}/access.log traced;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    # starts a cache manager and loader, which must not run a pipeline
    proxy_cache_path {tmp}/cache keys_zone=c:1m;

    spanring_exporter file,otlp;
    otel_exporter {{
        endpoint http://127.0.0.1:{up_port};
        interval 200ms;
        header X-Collector-Key "k=1,2";
    }}
    otel_service_name spanring-nginx-test;
    otel_resource_attr deployment.environment "test env";
    otel_trace_context propagate;

    map $http_x_trace $trace_by_header {{ default off; yes on; }}
    add_header X-Trace-Id $otel_trace_id always;
    upstream backend {{ server 127.0.0.1:{up_port}; keepalive 4; }}

    server {{
        listen 127.0.0.1:{port};
        server_name test.local;

        location = /on {{
            otel_trace on;
            otel_span_attr test.attr "v-$arg_k";
            return 200 "on\n";
        }}
        location = /off {{ otel_trace off; return 200 "off\n"; }}
        location = /var {{ otel_trace $trace_by_header; return 200 "var\n"; }}
        location = /follow {{ otel_trace $otel_parent_sampled; return 200 "follow\n"; }}
        location = /err {{ otel_trace on; return 503; }}
        location = /a-longer-route {{ otel_trace on; return 200 "long\n"; }}
        location = /named {{
            otel_trace on;
            otel_span_name "custom $request_method";
            return 204;
        }}
        location /proxy/ {{
            otel_trace on;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Span-Id $otel_span_id;
            proxy_pass http://backend;
        }}
        location /quiet/ {{
            otel_trace off;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://backend;
        }}
        location /load {{ otel_trace on; return 200 "load\n"; }}
        location = /redirect {{ otel_trace on; error_page 418 = @final; return 418; }}
        location @final {{ otel_trace on; return 200 "final\n"; }}
    }}
    server {{
        # a server-level return: the request never reaches a location
        listen 127.0.0.1:{port2};
        otel_trace on;
        return 200 "early\n";
    }}
}}
"""

BAD_CONFIGS = [
    ("otel_trace maybe;", r'invalid value "maybe" in "otel_trace" directive'),
    ("otel_trace_context sideways;", r'invalid value "sideways" in "otel_trace_context" directive'),
    ("otel_exporter { endpoint localhost:0; }",
     r'"endpoint" directive of "otel_exporter" has an invalid port'),
    ("otel_exporter { endpoint :4317; }", r'"endpoint" directive of "otel_exporter" has no host'),
    ("otel_exporter { endpoint http://127.0.0.1:99999; }",
     r'"endpoint" directive of "otel_exporter" has an invalid port'),
    ("otel_exporter { endpoint ftp://collector; }",
     r'"endpoint" directive of "otel_exporter" must be an OTLP/HTTP URL .* or an OTLP/gRPC'),
    ("otel_exporter { interval 1s; }", r'"otel_exporter" requires "endpoint"'),
    ("otel_exporter { endpoint http://127.0.0.1:4318; colour blue; }",
     r'unknown directive "colour" in "otel_exporter"'),
    ("otel_exporter { endpoint http://127.0.0.1:4318; batch_size 0; }",
     r'"batch_size" directive of "otel_exporter" must be a number'),
    ("otel_exporter { endpoint http://127.0.0.1:4318; trusted_certificate {tmp}/missing.pem; }",
     r'"trusted_certificate" directive of "otel_exporter": cannot read'),
    ("spanring_exporter otlp,carrier-pigeon;", r'unknown exporter "carrier-pigeon" in "spanring_exporter"'),
    ("spanring_exporter plugin:{tmp}/missing.so;", r'"spanring_exporter" directive: cannot read plugin'),
    ("otel_span_attr '' x;", r'empty attribute name in "otel_span_attr"'),
]
GOOD_CONFIGS = [
    "otel_exporter { endpoint http://127.0.0.1:4318; interval 1s; batch_size 256; "
    "batch_count 8; header X-Api-Key 'k=1,2'; } otel_trace on;",
    "otel_exporter { endpoint https://collector.example:4318/custom/v1/traces; } otel_trace $arg_t;",
    "otel_exporter { endpoint localhost:4317; } otel_trace on;",
]

failures = []
# Environment of every nginx process: with --preload, the sanitizer
# runtime an ASan-built module needs (nginx itself is not instrumented:
# its pools are not freed at exit, so leak detection stays off for it).
NGINX_ENV = dict(os.environ)


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def attrs_of(span):
    out = {}
    for a in span.get("attributes", []):
        v = a["value"]
        out[a["key"]] = v.get("stringValue", v.get("intValue", v.get("boolValue")))
    return out


def read_spans(path):
    spans = []
    if not os.path.exists(path):
        return spans
    with open(path) as f:
        for line in f:
            doc = json.loads(line)
            for rs in doc["resourceSpans"]:
                res = {a["key"]: a["value"].get("stringValue")
                       for a in rs["resource"]["attributes"]}
                for ss in rs["scopeSpans"]:
                    for s in ss["spans"]:
                        s["_resource"] = res
                        spans.append(s)
    return spans


LONG_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
LONG_HOST = "a-host-name-longer-than-forty-bytes.test.local"


def request(port, path, headers=None, conn=None):
    """headers: a dict, or a list of (name, value) lines (a name may repeat)."""
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    if isinstance(headers, list):
        c.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for k, v in [("User-Agent", "spanring-test/1.0"), ("Host", "test.local")] + headers:
            c.putheader(k, v)
        c.endheaders()
    else:
        h = {"User-Agent": "spanring-test/1.0", "Host": "test.local"}
        h.update(headers or {})
        c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read()
    if conn is None:
        c.close()
    return r.status, r.getheader("X-Trace-Id"), body


def nginx_t(nginx, module, tmp, snippet):
    conf = os.path.join(tmp, "t.conf")
    with open(conf, "w") as f:
        f.write("load_module %s;\nerror_log %s/t-error.log;\npid %s/t.pid;\n"
                "events {}\nhttp {\n    %s\n    server { listen 127.0.0.1:%d; }\n}\n"
                % (module, tmp, tmp, snippet.replace("{tmp}", tmp), free_port()))
    p = subprocess.run([nginx, "-t", "-p", tmp, "-c", conf], env=NGINX_ENV,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr


def test_configs(nginx, module, tmp):
    for snippet, expect in BAD_CONFIGS:
        rc, err = nginx_t(nginx, module, tmp, snippet)
        check(rc != 0 and re.search(expect, err),
              "nginx -t with `%s` fails naming the directive (%r): rc %d, %s"
              % (snippet, expect, rc, err.strip()))
    for snippet in GOOD_CONFIGS:
        rc, err = nginx_t(nginx, module, tmp, snippet)
        check(rc == 0, "nginx -t with `%s` passes: %s" % (snippet, err.strip()))


class Nginx:
    def __init__(self, nginx, tmp):
        with open(os.path.join(tmp, "stderr.log"), "w") as err:
            self.proc = subprocess.Popen([nginx, "-p", tmp, "-c", os.path.join(tmp, "nginx.conf")],
                                         env=NGINX_ENV, stdout=subprocess.DEVNULL, stderr=err)

    def workers(self):
        out = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open("/proc/%s/stat" % pid) as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                            out.append(int(pid))
                except (OSError, ValueError, IndexError):
                    pass
        return out

    def stop(self):
        """Whatever state it is in: quit, then terminate, then kill."""
        if self.proc.poll() is None:
            workers = self.workers()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            for w in workers:
                try:
                    os.kill(w, signal.SIGKILL)
                except OSError:
                    pass


GRPC_CONFIG = NGINX_HEAD + r"""pid {tmp}/g.pid;
error_log {tmp}/g-error.log notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    otel_exporter {{ endpoint 127.0.0.1:{gport}; interval 100ms; }}
    otel_trace on;
    server {{ listen 127.0.0.1:{port}; location / {{ return 200 "grpc\n"; }} }}
}}
"""


def test_grpc_export(args, tmp):
    """otel_exporter's host:port form: OTLP/gRPC to a real gRPC server;
    after a graceful quit it has answered OK for every request's span."""
    rcv = subprocess.Popen([args.grpc_python, args.grpc_receiver, "--port", "0"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ngx = None
    try:
        line = rcv.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            check(False, "gRPC receiver started: %r" % line)
            return
        port = free_port()
        with open(os.path.join(tmp, "g.conf"), "w") as f:
            f.write(GRPC_CONFIG.format(module=args.module, tmp=tmp, port=port, gport=line[1]))
        with open(os.path.join(tmp, "g-stderr.log"), "w") as err:
            ngx = subprocess.Popen([args.nginx, "-p", tmp, "-c", os.path.join(tmp, "g.conf")],
                                   env=NGINX_ENV, stdout=subprocess.DEVNULL, stderr=err)
        if not wait_port(port):
            check(False, "nginx (gRPC endpoint) listens on 127.0.0.1:%d" % port)
            return
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = 25
        ok = sum(request(port, "/g%d" % i, conn=conn)[0] == 200 for i in range(n))
        conn.close()
        ngx.send_signal(signal.SIGQUIT)
        rc = ngx.wait(30)
        rcv.stdin.write("stats\n")
        rcv.stdin.flush()
        stats = dict(kv.split("=", 1) for kv in rcv.stdout.readline().split()[1:])
        check(rc == 0 and ok == n and stats.get("ok_spans") == str(n)
              and stats.get("bad") == "0",
              "otel_exporter { endpoint 127.0.0.1:PORT; }: OTLP/gRPC, %d of %d requests' spans "
              "answered OK (receiver: %s, nginx exit %s)" % (int(stats.get("ok_spans", 0)), n, stats, rc))
    finally:
        if ngx and ngx.poll() is None:
            ngx.kill()
            ngx.wait()
        try:
            rcv.stdin.write("quit\n")
            rcv.stdin.flush()
            rcv.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            rcv.kill()
            rcv.wait()


def wait_port(port, deadline=10):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def load(port, stop, received, errors):
    """Keep-alive requests to /load until told to stop; reconnect on the
    closes that reload and quit cause."""
    conn = None
    n = 0
    while not stop.is_set():
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            n += 1
            status, tid, _ = request(port, "/load?n=%d" % n, conn=conn)
            if status == 200:
                received.append(tid)
        except (OSError, http.client.HTTPException):
            errors.append(1)
            if conn:
                conn.close()
            conn = None
            time.sleep(0.01)
    if conn:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nginx", required=True)
    ap.add_argument("--module", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary prefix")
    ap.add_argument("--show", action="store_true",
                    help="print the proxied request's span and the upstream's headers")
    ap.add_argument("--preload", help="sanitizer runtime to LD_PRELOAD into nginx")
    ap.add_argument("--grpc-python", required=True, help="a python3 that imports grpc")
    ap.add_argument("--grpc-receiver", required=True, help="tests/receiver/grpc_receiver.py")
    args = ap.parse_args()
    if args.preload:
        NGINX_ENV["LD_PRELOAD"] = args.preload
        NGINX_ENV["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1:verify_asan_link_order=0"

    tmp = tempfile.mkdtemp(prefix="spanring-nginx-")
    # Workers drop root privileges to `nobody`; they write the spans here.
    os.chmod(tmp, 0o777)
    up = Upstream()
    threading.Thread(target=up.serve_forever, daemon=True).start()
    ngx = None
    try:
        test_configs(args.nginx, args.module, tmp)
        test_grpc_export(args, tmp)

        port = free_port()
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            port2 = free_port()
            f.write(CONFIG.format(module=args.module, tmp=tmp, port=port, port2=port2,
                                  up_port=up.server_address[1]))
        ngx = Nginx(args.nginx, tmp)
        if not wait_port(port):
            check(False, "nginx listens on 127.0.0.1:%d" % port)
            for name in ("stderr.log", "error.log"):
                path = os.path.join(tmp, name)
                if os.path.exists(path):
                    with open(path) as f:
                        print("%s:\n%s" % (name, f.read()[-3000:]), file=sys.stderr)
            return 1

        tp = "00-%s-%s-01" % (TP_TRACE, TP_PARENT)
        tp_unsampled = "00-%s-%s-00" % (TP_TRACE, TP_PARENT)
        results = {}
        results["on_root"] = request(port, "/on?k=1")
        results["on_child"] = request(port, "/on?k=2", {"traceparent": tp, "tracestate": "vendor=x"})
        results["off"] = request(port, "/off")
        results["var_on"] = request(port, "/var", {"X-Trace": "yes"})
        results["var_off"] = request(port, "/var")
        results["follow_on"] = request(port, "/follow", {"traceparent": tp})
        results["follow_off"] = request(port, "/follow", {"traceparent": tp_unsampled})
        results["err"] = request(port, "/err")
        results["named"] = request(port, "/named")
        results["long_route"] = request(port, "/a-longer-route",
                                        {"User-Agent": LONG_UA, "Host": LONG_HOST})
        results["proxy_child"] = request(port, "/proxy/a", {"traceparent": tp, "tracestate": "vendor=x"})
        results["proxy_root"] = request(port, "/proxy/b")
        results["quiet"] = request(port, "/quiet/c", {"traceparent": tp})
        results["redirect"] = request(port, "/redirect")
        results["early"] = request(port2, "/x?y=1")
        # RFC 9110: lines of one field are one comma-joined value; two
        # traceparents so joined are malformed, and start a new trace.
        results["split_state"] = request(port, "/proxy/split", [
            ("traceparent", "00-%s-%s-01" % (TP_SPLIT, TP_PARENT)),
            ("tracestate", "vendor=x"), ("tracestate", "other=y")])
        results["twice"] = request(port, "/on?k=4", [
            ("traceparent", "00-%s-%s-01" % (TP_TWICE, TP_PARENT)),
            ("traceparent", "00-%s-%s-01" % (TP_TWICE, TP_PARENT))])
        for k, (status, _, _) in results.items():
            check(status in (200, 204, 503), "%s answered: %d" % (k, status))

        # Reload twice, then quit, under load.
        stop = threading.Event()
        received, errors = [], []
        threads = [threading.Thread(target=load, args=(port, stop, received, errors)) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        ngx.proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        ngx.proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        ngx.proc.send_signal(signal.SIGQUIT)
        try:
            rc = ngx.proc.wait(30)
        except subprocess.TimeoutExpired:
            rc = None
        stop.set()
        for t in threads:
            t.join()
        check(rc == 0, "nginx quit gracefully under load (exit %s)" % rc)
        check(len(received) > 100, "load got answers (%d)" % len(received))

        spans = read_spans(os.path.join(tmp, "spans.jsonl"))
        by_trace = {}
        for s in spans:
            by_trace.setdefault(s["traceId"], []).append(s)

        def spans_for(key):
            return by_trace.get(results[key][1], []) if results[key][1] else []

        # --- one span per traced request, none for the others
        shared = [s for s in spans if s["traceId"] == TP_TRACE]
        check(len(shared) == 3, "three spans continue the incoming trace "
              "(on_child, follow_on, proxy_child): %d" % len(shared))
        for key in ("off", "var_off", "follow_off", "quiet"):
            tid = results[key][1]
            got = [s for s in spans if s["traceId"] == tid and tid != TP_TRACE]
            check(not got, "%s has no span (%d)" % (key, len(got)))
        check(not [s for s in shared if attrs_of(s).get("url.path") in ("/off", "/var", "/quiet/c")]
              and len([s for s in shared if attrs_of(s).get("url.path") == "/follow"]) == 1,
              "untraced requests of the incoming trace have no span")

        # --- a root span and its attributes
        root = spans_for("on_root")
        check(len(root) == 1, "/on?k=1: exactly one span (%d)" % len(root))
        if root:
            s = root[0]
            a = attrs_of(s)
            check(s["kind"] == 2 and s["name"] == "/on", "server span named after the location: %s" % s["name"])
            check(not s.get("parentSpanId"), "a request without traceparent is a root")
            expect = {"http.request.method": "GET", "url.path": "/on", "url.query": "k=1",
                      "http.route": "/on", "url.scheme": "http", "network.protocol.version": "1.1",
                      "http.response.status_code": "200", "http.response.body.size": "3",
                      "user_agent.original": "spanring-test/1.0", "server.address": "test.local",
                      "server.port": str(port), "client.address": "127.0.0.1", "test.attr": "v-1"}
            for k, v in expect.items():
                check(a.get(k) == v, "attribute %s = %r (got %r)" % (k, v, a.get(k)))
            check(int(a.get("client.port", 0)) > 0, "client.port set")
            check(s.get("status", {}).get("code", 0) in (0, None), "200 leaves status unset")
            check(int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"]), "end >= start")
            check(s["_resource"].get("service.name") == "spanring-nginx-test", "otel_service_name")
            check(s["_resource"].get("deployment.environment") == "test env", "otel_resource_attr")

        # --- parent from traceparent, tracestate kept
        child = [s for s in shared if attrs_of(s).get("url.path") == "/on"]
        check(len(child) == 1 and child[0].get("parentSpanId") == TP_PARENT
              and child[0].get("traceState") == "vendor=x",
              "traceparent's span is the parent, tracestate kept")

        # --- status and name
        err = spans_for("err")
        check(len(err) == 1 and err[0].get("status", {}).get("code") == 2
              and attrs_of(err[0]).get("http.response.status_code") == "503",
              "503 gives status ERROR")
        named = spans_for("named")
        check(len(named) == 1 and named[0]["name"] == "custom GET", "otel_span_name with a variable")
        lr = spans_for("long_route")
        check(len(lr) == 1 and lr[0]["name"] == "/a-longer-route"
              and attrs_of(lr[0]).get("http.route") == "/a-longer-route",
              "a route name longer than 8 bytes: %s" % lr)
        # strings longer than the inline path copies go in one call
        check(len(lr) == 1 and attrs_of(lr[0]).get("user_agent.original") == LONG_UA
              and attrs_of(lr[0]).get("server.address") == LONG_HOST,
              "user agent and Host longer than 40 bytes: %s"
              % [(attrs_of(x).get("user_agent.original"), attrs_of(x).get("server.address"))
                 for x in lr])

        # --- an internal redirect keeps one span, named after the final
        # location; a request that never reaches a location has one too
        red = spans_for("redirect")
        check(len(red) == 1 and red[0]["name"] == "@final"
              and attrs_of(red[0]).get("url.path") == "/redirect",
              "internal redirect: one span named after the final location: %s"
              % [(x["name"], attrs_of(x).get("url.path")) for x in red])
        early = spans_for("early")
        check(len(early) == 1 and attrs_of(early[0]).get("url.query") == "y=1"
              and attrs_of(early[0]).get("server.port") == str(port2)
              and int(early[0]["endTimeUnixNano"]) >= int(early[0]["startTimeUnixNano"]),
              "server-level return: one span, from the log phase: %s" % early)

        # --- proxied: the upstream continues nginx's span
        pc = [s for s in shared if attrs_of(s).get("url.path") == "/proxy/a"]
        seen = up.find("/proxy/a")
        check(len(pc) == 1 and len(seen) == 1, "proxied request: one span, one upstream request")
        if pc and seen:
            s, h = pc[0], seen[0]
            check(s.get("parentSpanId") == TP_PARENT, "proxied span's parent is the client's")
            check(h.get("traceparent") == "00-%s-%s-01" % (TP_TRACE, s["spanId"]),
                  "upstream got traceparent with nginx's span as parent: %s (span %s)"
                  % (h.get("traceparent"), s["spanId"]))
            check(s["spanId"] != TP_PARENT, "nginx's span id is new")
            check(h.get("x-span-id") == s["spanId"], "$otel_span_id is the span's id")
            check(h.get("tracestate") == "vendor=x", "tracestate passed upstream")
            check(attrs_of(s).get("http.route") == "/proxy/", "route of the proxied location")
            if args.show:
                span = {k: v for k, v in s.items() if k != "_resource"}
                print("client sent: traceparent: %s, tracestate: vendor=x" % tp)
                print("span exported by nginx (file exporter, OTLP/JSON):")
                print(json.dumps(span, indent=1))
                print("headers the upstream received:")
                for k, v in sorted(h.items()):
                    print("  %s: %s" % (k, v))
        sp = spans_for("split_state")
        seen = up.find("/proxy/split")
        check(len(sp) == 1 and sp[0]["traceId"] == TP_SPLIT
              and sp[0].get("parentSpanId") == TP_PARENT
              and sp[0].get("traceState") == "vendor=x,other=y",
              "tracestate on two lines is one joined value: %s" % sp)
        check(len(sp) == 1 and len(seen) == 1 and seen[0].get("traceparent") ==
              "00-%s-%s-01" % (TP_SPLIT, sp[0]["spanId"]) if sp and seen else False,
              "split tracestate: the upstream continues nginx's span")
        tw = spans_for("twice")
        check(len(tw) == 1 and tw[0]["traceId"] != TP_TWICE and not tw[0].get("parentSpanId"),
              "traceparent on two lines is malformed: a new trace: %s" % tw)
        pr = spans_for("proxy_root")
        seen = up.find("/proxy/b")
        # A trace nginx starts has a random trace id: W3C Level 2 flags 03.
        check(len(pr) == 1 and len(seen) == 1 and seen[0].get("traceparent") ==
              "00-%s-%s-03" % (pr[0]["traceId"], pr[0]["spanId"]) if pr and seen else False,
              "a proxied root request starts the trace the upstream continues")
        seen = up.find("/quiet/c")
        tpq = seen[0].get("traceparent", "") if seen else ""
        check(re.fullmatch(r"00-%s-[0-9a-f]{16}-00" % TP_TRACE, tpq) and TP_PARENT not in tpq,
              "untraced, propagated: same trace, new span id, not sampled: %r" % tpq)

        # --- otel_exporter: OTLP/HTTP to its endpoint, with its header
        with up.lock:
            posts = list(up.posts)
        check(posts and all(p == "/v1/traces" and h.get("content-type") == "application/x-protobuf"
                            and h.get("x-collector-key") == "k=1,2" and n > 0 for p, h, n in posts),
              "otel_exporter: spans posted to its endpoint + /v1/traces with its header (%d posts: %s)"
              % (len(posts), posts[:1]))

        # --- reload and quit under load: no span lost silently.  Each
        # worker's final counters account for every sampled span (exported,
        # or dropped by a counted cause such as a full ring on a starved
        # machine); every request nginx logged has its span or one of
        # those counted drops, and no span appears twice.
        exits = []
        with open(os.path.join(tmp, "error.log")) as f:
            for line in f:
                m = re.search(r"spanring: worker exit: ([^,]+), (\d+) span\(s\) lost.*stats (\{.*\})", line)
                if m:
                    exits.append((m.group(1), int(m.group(2)), json.loads(m.group(3))))
        check(len(exits) == 3, "three workers exited (two reloads, one quit): %d" % len(exits))
        with open(os.path.join(tmp, "error.log")) as f:
            starts = len(re.findall(r"spanring \S+: pipeline started", f.read()))
        check(starts == 3, "three pipelines started, one per worker, none in the cache "
              "manager or loader: %d" % starts)
        total, dropped = 0, 0
        for state, lost, st in exits:
            d = sum(st["dropped"].values())
            check(state == "flushed" and lost == 0 and st["sampled"] == st["exported"] + d,
                  "worker flushed and accounted for every span: %s, lost %d, %s" % (state, lost, st))
            total += st["exported"]
            dropped += d
        check(total == len(spans), "exported counters (%d) match the spans in the file (%d)"
              % (total, len(spans)))
        logged = []
        with open(os.path.join(tmp, "access.log")) as f:
            for line in f:
                tid, status, uri = line.split()
                if uri == "/load":
                    logged.append(tid)
        load_spans = [s for s in spans if attrs_of(s).get("url.path") == "/load"]
        span_ids = [s["traceId"] for s in load_spans]
        check(len(set(span_ids)) == len(span_ids) and set(span_ids) <= set(logged),
              "no /load span twice, each of a logged request")
        check(len(logged) == len(load_spans) + dropped,
              "each of the %d logged /load requests has its span (%d) or a counted drop (%d)"
              % (len(logged), len(load_spans), dropped))
        check(len(set(received) - set(span_ids)) <= dropped,
              "every answered request's trace id has a span, but for counted drops")
        print("nginx module: %d spans, %d load requests answered across 2 reloads and a quit, "
              "%d client reconnects, %d spans dropped (counted)"
              % (len(spans), len(received), len(errors), dropped))
    finally:
        if ngx:
            ngx.stop()
        up.shutdown()
        if failures or args.keep:
            print("kept", tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
