#!/usr/bin/env bash
# with-jaeger.sh runs a command with Jaeger beside it, receiving the spans
# of every carrot process:
#
#   infra/jaeger/with-jaeger.sh .data/bin/carrot
#
# Jaeger is the Go tool pinned in go.mod (`go tool jaeger`), built once into
# .data/bin/jaeger. Its first build takes 6 to 8 minutes on two cores, so
# it runs in the background: the command starts at once, and Jaeger starts
# as soon as its build is done. Until then the command's spans are dropped
# (each process logs so, rarely); tracing never delays or fails a request.
#
# It exports OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 to the
# command, unless it is set already, and starts Jaeger with
# infra/jaeger/jaeger.yaml: OTLP on 127.0.0.1:4317 and 4318, the query API
# on http://127.0.0.1:16686, nothing on other interfaces, spans in memory.
# A Jaeger built from the module has no web UI ("ui assets not embedded"):
# read traces through the query API, or draw one with
# `go run ./tests/drill/cmd/waterfall TRACE_ID`.
#
# CARROT_TRACING=off runs the command alone, with no OTEL_* variable set.
# Jaeger stops with the command.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi

if [[ "${CARROT_TRACING:-on}" == "off" ]]; then
	exec "$@"
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/.data/bin/jaeger"
log="$root/.data/jaeger.log"
mkdir -p "$root/.data/bin"
export OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:4318}"

# build_and_start builds Jaeger when it is missing or older than go.mod,
# then runs it until this script ends.
build_and_start() {
	if [[ ! -x "$bin" || "$root/go.mod" -nt "$bin" ]]; then
		echo "with-jaeger: building Jaeger in the background (6 to 8 minutes the first time); tracing starts once it is up" >&2
		(cd "$root" && go build -o "$bin.tmp" github.com/jaegertracing/jaeger/cmd/jaeger) >"$log" 2>&1 ||
			{ echo "with-jaeger: building Jaeger failed; see $log. carrot runs on without it" >&2; return 0; }
		mv "$bin.tmp" "$bin"
	fi
	echo "with-jaeger: starting Jaeger; its query API is http://127.0.0.1:16686 (log in $log)" >&2
	exec "$bin" --config "$root/infra/jaeger/jaeger.yaml" >>"$log" 2>&1
}

# The build and Jaeger run in a process group of their own, which stop
# ends as a whole, the build's compilers included.
set -m
build_and_start &
starter=$!
set +m
stop() {
	kill -- -"$starter" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

set +e
"$@"
code=$?
set -e
exit "$code"
