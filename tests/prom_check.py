#!/usr/bin/python3
# prom_check.py FILE - parse a GET /metrics body with the Prometheus
# project's own parser (Debian python3-prometheus-client) and check what
# test_prometheus recorded: 3 "GET /a" SERVER calls (one ERROR), 2
# "SELECT" CLIENT calls, every span accounted for.  Exit 0 or print why.
import sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}

def fail(msg):
    print("prom_check: " + msg)
    sys.exit(1)

def samples(fam, suffix=""):
    if fam not in fams:
        fail("no family %s (have %s)" % (fam, sorted(fams)))
    return [s for s in fams[fam].samples if s.name == fam + suffix]

def one(fam, suffix, **labels):
    got = [s for s in samples(fam, suffix)
           if all(s.labels.get(k) == v for k, v in labels.items())]
    if len(got) != 1:
        fail("%s%s%s: %d samples" % (fam, suffix, labels, len(got)))
    return got[0].value

# The parser names counter families without _total.
calls = "traces_span_metrics_calls"
if fams[calls].type != "counter":
    fail("calls is a " + fams[calls].type)
ok = one(calls, "_total", span_name="GET /a", span_kind="SPAN_KIND_SERVER",
         status_code="STATUS_CODE_UNSET", service_name="promtest")
err = one(calls, "_total", span_name="GET /a", status_code="STATUS_CODE_ERROR")
cli = one(calls, "_total", span_name="SELECT", span_kind="SPAN_KIND_CLIENT")
if (ok, err, cli) != (2, 1, 2):
    fail("calls ok %s err %s client %s" % (ok, err, cli))
dur = "traces_span_metrics_duration_milliseconds"
if fams[dur].type != "histogram":
    fail("duration is a " + fams[dur].type)
inf = one(dur, "_bucket", span_name="SELECT", le="+Inf")
cnt = one(dur, "_count", span_name="SELECT")
le2 = one(dur, "_bucket", span_name="SELECT", le="2")
if inf != 2 or cnt != 2 or le2 != 1:
    fail("SELECT histogram +Inf %s count %s le=2 %s" % (inf, cnt, le2))
started = one("otel_sdk_span_started", "_total",
              otel_span_sampling_result="RECORD_AND_SAMPLE")
exported = sum(s.value for s in samples("otel_sdk_processor_span_processed", "_total")
               if "error_type" not in s.labels)
dropped = sum(s.value for s in samples("otel_sdk_processor_span_processed", "_total")
              if "error_type" in s.labels)
if started != 5 or exported + dropped != 5:
    fail("started %s exported %s dropped %s" % (started, exported, dropped))
mem = [s.value for s in samples("otel_sdk_exporter_span_exported", "_total")
       if s.labels.get("otel_component_name") == "memory" and "error_type" not in s.labels]
if mem != [5]:
    fail("memory exporter delivered %s" % mem)
print("prom_check: %d families parsed, values as recorded" % len(fams))
