#!/usr/bin/env bash
# The demo exporting over OTLP/gRPC into the test receiver (a real gRPC
# server, tests/receiver/grpc_receiver.py on python3-grpcio) on
# 127.0.0.1, which is started here and stopped at the end; then the
# receiver's span count beside the exporter's `ok` count, which must be
# equal.  Extra arguments go to spanring-demo (see --help); the OTEL_*
# environment applies (OTEL_EXPORTER_OTLP_COMPRESSION=gzip, say).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSR_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

py=
for p in python3 /usr/bin/python3; do
  if "$p" -c "import grpc" 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "no python3 can import grpc: apt-get install python3-grpcio" >&2; exit 1; }

coproc RCV { exec "$py" tests/receiver/grpc_receiver.py --stats-on-exit; }
rcv_pid=$RCV_PID
trap 'kill "$rcv_pid" 2>/dev/null || true' EXIT
read -r word port <&"${RCV[0]}"
[ "$word" = PORT ] || { echo "receiver did not start" >&2; exit 1; }
echo "gRPC receiver on 127.0.0.1:$port"

out=$(OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port" \
  ./build-release/examples/spanring-demo "$@")
echo "$out"

echo quit >&"${RCV[1]}"
stats=$(grep '^stats ' <&"${RCV[0]}" || true)
wait "$rcv_pid" || true
trap - EXIT
echo "receiver: ${stats#stats }"
ok=$(sed -n 's/.*exporter otlp *ok \([0-9]*\).*/\1/p' <<<"$out")
got=$(sed -n 's/.* ok_spans=\([0-9]*\).*/\1/p' <<<"$stats")
if [ -n "$ok" ] && [ "$ok" = "$got" ]; then
  echo "receiver spans $got == exporter ok $ok"
else
  echo "MISMATCH: receiver spans '${got}' != exporter ok '${ok}'" >&2
  exit 1
fi
