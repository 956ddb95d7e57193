#!/usr/bin/env python3
"""grpc_receiver.py - an OTLP/gRPC trace receiver for the tests, built on
gRPC's own implementation (Debian python3-grpcio), scriptable with faults.

The TraceService is defined by hand from the OTLP field numbers: the
handler is generic and takes the request as raw bytes, which a small
protobuf walker reads (ExportTraceServiceRequest: resource_spans = 1 >
scope_spans = 2 > spans = 2).  No generated code, no .proto files.

It serves on 127.0.0.1 only (cleartext h2c, or TLS with --cert/--key),
on the port given (0: any free one), prints
"PORT <n>" on stdout once listening, then reads commands on stdin, one a
line, answering each with one line:

  script R1 R2 ...   the next calls get these replies, in order  -> ok
  default R          later calls get this reply (start: ok)      -> ok
  reset              zero the counters, forget the peers        -> ok
  stats              -> "stats requests=.. ok_requests=.. ok_spans=..
                        all_spans=.. peers=.. bad=.. api_key=.. deadline=..
                        max_timeout_ms=.. rejected=.."
  quit               stop the server (grace 1 s) and exit        -> bye

A reply R is one of:
  ok                       OK, empty ExportTraceServiceResponse
  partial:N                OK with partial_success.rejected_spans = N
  delay:MS                 OK after MS milliseconds
  hang                     never answer (until the client gives up)
  CODE                     that gRPC status, e.g. UNAVAILABLE, INTERNAL
  RESOURCE_EXHAUSTED:retry=MS   with a google.rpc.RetryInfo of MS in
                           grpc-status-details-bin

ok_spans counts the spans of calls answered OK (partial ones included),
so a test can hold it against the exporter's own count.  peers counts the
distinct client addresses, i.e. connections.  With --stats-on-exit it
prints the stats line when stdin closes (for use from a shell).  With
--save FILE each request answered OK overwrites FILE with its message
(the ExportTraceServiceRequest, uncompressed): the last one is kept, for
`protoc --decode_raw < FILE`.
"""
import argparse
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"


def varint(b, i):
    x = 0
    shift = 0
    while True:
        if i >= len(b) or shift > 63:
            raise ValueError("varint")
        c = b[i]
        i += 1
        x |= (c & 0x7F) << shift
        if not c & 0x80:
            return x, i
        shift += 7


def fields(b):
    """(field, wire type, value) of a message; LEN values as bytes."""
    i = 0
    while i < len(b):
        tag, i = varint(b, i)
        f, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            n, i = varint(b, i)
            if i + n > len(b):
                raise ValueError("length")
            v, i = b[i:i + n], i + n
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        if i > len(b):
            raise ValueError("cut")
        yield f, wt, v


def count_spans(req):
    n = 0
    for f, wt, rs in fields(req):
        if f == 1 and wt == 2:
            for g, wt2, ss in fields(rs):
                if g == 2 and wt2 == 2:
                    n += sum(1 for h, wt3, _ in fields(ss) if h == 2 and wt3 == 2)
    return n


def put_varint(x):
    out = bytearray()
    while x >= 0x80:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def ld(field, payload):
    return put_varint(field << 3 | 2) + put_varint(len(payload)) + payload


def vi(field, x):
    return put_varint(field << 3) + put_varint(x)


def retry_status(code, ms):
    """google.rpc.Status{code, message, details: [Any(RetryInfo)]}."""
    dur = vi(1, ms // 1000) + (vi(2, (ms % 1000) * 1000000) if ms % 1000 else b"")
    retry_info = ld(1, dur)
    anyv = ld(1, b"type.googleapis.com/google.rpc.RetryInfo") + ld(2, retry_info)
    return vi(1, code) + ld(2, b"slow down") + ld(3, anyv)


class Receiver:
    def __init__(self, save=None):
        self.save = save
        self.lock = threading.Lock()
        self.script = []
        self.default = "ok"
        self.reset()

    def reset(self):
        self.st = dict(requests=0, ok_requests=0, ok_spans=0, all_spans=0,
                       bad=0, api_key=0, deadline=0, max_timeout_ms=0,
                       rejected=0)
        self.peers = set()

    def next_reply(self):
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def export(self, request, context):
        try:
            n = count_spans(request)
        except ValueError:
            n = -1
        md = dict(context.invocation_metadata())
        left = context.time_remaining()
        reply = self.next_reply()
        with self.lock:
            s = self.st
            s["requests"] += 1
            self.peers.add(context.peer())
            if n < 0:
                s["bad"] += 1
            else:
                s["all_spans"] += n
            if md.get("x-api-key") == "s3cret value":
                s["api_key"] += 1
            if left is not None and left < 3600:
                s["deadline"] += 1
                s["max_timeout_ms"] = max(s["max_timeout_ms"], int(left * 1000) + 1)
        if n < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "malformed request")
        kind, _, arg = reply.partition(":")
        if kind == "delay":
            time.sleep(int(arg) / 1000.0)
        elif kind == "hang":
            while context.is_active():
                time.sleep(0.01)
            return b""
        elif kind not in ("ok", "partial"):
            code = grpc.StatusCode[kind]
            if arg.startswith("retry="):
                st = retry_status(code.value[0], int(arg[6:]))
                context.set_trailing_metadata((("grpc-status-details-bin", st),))
            context.abort(code, "injected %s" % kind)
        rej = int(arg) if kind == "partial" else 0
        with self.lock:
            self.st["ok_requests"] += 1
            self.st["ok_spans"] += n
            self.st["rejected"] += rej
            if self.save:
                with open(self.save, "wb") as f:
                    f.write(request)
        if rej:
            return ld(1, vi(1, rej) + ld(2, b"spans too old"))
        return b""

    def stats_line(self):
        with self.lock:
            d = dict(self.st, peers=len(self.peers))
        return "stats " + " ".join("%s=%d" % kv for kv in sorted(d.items()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--stats-on-exit", action="store_true")
    ap.add_argument("--cert", help="PEM certificate: serve TLS (h2 by ALPN)")
    ap.add_argument("--key", help="PEM key of --cert")
    ap.add_argument("--save", help="keep the last OK request's message here")
    a = ap.parse_args()

    rcv = Receiver(a.save)
    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Export": grpc.unary_unary_rpc_method_handler(
            rcv.export, request_deserializer=None, response_serializer=None),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=a.workers),
                         handlers=(handler,))
    addr = "127.0.0.1:%d" % a.port
    if a.cert:
        with open(a.key, "rb") as k, open(a.cert, "rb") as c:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port(addr, creds)
    else:
        port = server.add_insecure_port(addr)
    if port == 0:
        print("cannot listen on 127.0.0.1:%d" % a.port, file=sys.stderr)
        return 1
    server.start()
    print("PORT %d" % port, flush=True)

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        if cmd == "script":
            with rcv.lock:
                rcv.script = list(args)
            print("ok", flush=True)
        elif cmd == "default":
            with rcv.lock:
                rcv.default = args[0] if args else "ok"
            print("ok", flush=True)
        elif cmd == "reset":
            with rcv.lock:
                rcv.reset()
            print("ok", flush=True)
        elif cmd == "stats":
            print(rcv.stats_line(), flush=True)
        elif cmd == "quit":
            break
        else:
            print("error unknown command %r" % cmd, flush=True)
    server.stop(1).wait()
    try:
        if a.stats_on_exit:
            print(rcv.stats_line(), flush=True)
        print("bye", flush=True)
    except BrokenPipeError:
        pass  # the test went away without waiting (it failed): just exit
    return 0


if __name__ == "__main__":
    sys.exit(main())
