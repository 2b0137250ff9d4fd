#!/usr/bin/env bash
# with-jaeger.sh runs a command with Jaeger beside it, receiving the spans
# of every carrot process:
#
#   infra/jaeger/with-jaeger.sh .data/bin/carrot
#
# Jaeger is built from its Go module, github.com/jaegertracing/jaeger at
# JAEGER_VERSION below, in that module's own dependency graph (its go.mod
# in the module cache), once, into .data/bin/jaeger. It cannot be a `tool` of carrot's
# go.mod: v1.76.0 needs an otelhttp older than the v0.69.0 that carrot's
# knative.dev pins require (it calls otelhttp.WithRouteTag, gone in
# v0.69.0). Its first build takes 6 to 8 minutes on two cores, so it runs
# in the background: the command starts at once, and Jaeger starts as soon
# as its build is done. Until then the command's spans are dropped
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

readonly JAEGER_VERSION="v1.76.0" # Jaeger 2.13.0
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/.data/bin/jaeger"
log="$root/.data/jaeger.log"
mkdir -p "$root/.data/bin"
export OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:4318}"

# build_and_start builds Jaeger when it is missing or of another version,
# then runs it until this script ends.
build_and_start() {
	if [[ ! -x "$bin" || "$(cat "$bin.version" 2>/dev/null)" != "$JAEGER_VERSION" ]]; then
		echo "with-jaeger: building Jaeger $JAEGER_VERSION in the background (6 to 8 minutes the first time); tracing starts once it is up" >&2
		# The module's own go.mod (with its replace directive, which `go
		# install m@v` refuses) decides every version, as in its releases.
		if ! (src="$(cd "$(mktemp -d)" && go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" &&
			cd "$src" && GOFLAGS=-mod=readonly go build -o "$bin.tmp" ./cmd/jaeger) >"$log" 2>&1; then
			echo "with-jaeger: building Jaeger failed; see $log. carrot runs on without it" >&2
			return 0
		fi
		mv "$bin.tmp" "$bin"
		echo "$JAEGER_VERSION" >"$bin.version"
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
