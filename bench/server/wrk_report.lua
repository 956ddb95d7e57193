-- wrk_report.lua - what bench/run.sh hands wrk: every request carries a
-- sampled caller context (W3C traceparent), so the server extracts a real
-- parent, and at the end one JSON line reports the run: requests, errors
-- and the latency distribution in microseconds, p99.9 included (wrk's
-- own --latency table stops at p99).

-- WRK_THINK_MS=N: every connection waits N ms between an answer and its
-- next request, so the load stays below saturation (the server is idle
-- part of the time), where latency is what the request itself costs
-- rather than the queue in front of it.
local think = tonumber(os.getenv("WRK_THINK_MS") or "0")
if think and think > 0 then
   delay = function() return think end
end

wrk.method = "GET"
wrk.headers["traceparent"] =
   "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

done = function(summary, latency, requests)
   local e = summary.errors
   local grid = { 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99 }
   local pts = {}
   for i, p in ipairs(grid) do
      pts[i] = string.format("[%g,%d]", p, latency:percentile(p))
   end
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p99":%d,"p99_9":%d},' ..
      '"percentiles":[%s]}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.max,
      latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
      table.concat(pts, ",")))
end
