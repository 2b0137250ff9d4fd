#!/usr/bin/env bash
# with-runtime.sh runs a command beside the local runtime, as `make drill`
# does: run it under infra/dynamo/local/with-dynamodb.sh, which provides
# DYNAMODB_ENDPOINT.
#
#   infra/dynamo/local/with-dynamodb.sh tests/drill/with-runtime.sh BINARY COMMAND [ARG...]
#
# It starts the runtime BINARY (built from infra/local/cmd/carrot) in the
# background with the environment it was given (CARROT_IDLE_GRACE,
# CARROT_RELAY_EVERY, CARROT_DATA_DIR, ...), waits until
# GET /_local/status answers, runs the command, then stops the runtime
# with SIGINT, as Ctrl-C after `make run`, which stops every function
# process it started. It returns the command's exit code, and fails when
# the runtime leaves a process of its data folder's binaries behind.
set -euo pipefail

if [[ $# -lt 2 ]]; then
	echo "usage: $0 RUNTIME_BINARY COMMAND [ARG...]" >&2
	exit 2
fi
readonly binary="$1"
shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly root
readonly gateway="${CARROT_GATEWAY_ADDR:-127.0.0.1:8088}"
readonly data="${CARROT_DATA_DIR:-$root/.data}"
readonly timeout="${CARROT_START_TIMEOUT:-180}"
log="$(mktemp -t carrot-drill.XXXXXX.log)"
readonly log
runtime_pid=""

# start_failed shows the end of the runtime's log, then fails with what
# went wrong during start-up.
start_failed() {
	tail -n 40 "$log" >&2
	echo "with-runtime: $*" >&2
	exit 1
}

# stop_runtime sends SIGINT and waits for the runtime to exit, then checks
# that no function process of its data folder is left.
stop_runtime() {
	[[ -n "$runtime_pid" ]] || return 0
	kill -INT "$runtime_pid" 2>/dev/null || true
	for _ in $(seq 1 600); do
		kill -0 "$runtime_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$runtime_pid" 2>/dev/null; then
		echo "with-runtime: the runtime did not stop within 60 s; killing it" >&2
		kill -KILL "$runtime_pid" 2>/dev/null || true
	fi
	wait "$runtime_pid" 2>/dev/null || true
	runtime_pid=""
	local left
	left="$(leftovers)"
	if [[ -n "$left" ]]; then
		echo "with-runtime: processes left behind:" >&2
		echo "$left" >&2
		return 1
	fi
}

# leftovers lists the processes running a binary of the data folder.
leftovers() {
	local exe pid
	for pid in /proc/[0-9]*; do
		exe="$(readlink "$pid/exe" 2>/dev/null || true)"
		if [[ "$exe" == "$data/bin/"* ]]; then
			echo "${pid#/proc/} $exe"
		fi
	done
}

cleanup() {
	local status=$?
	stop_runtime || status=1
	rm -f "$log"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$binary" "$root" >"$log" 2>&1 &
runtime_pid=$!
echo "with-runtime: started the runtime (pid $runtime_pid, log $log); waiting for http://$gateway/_local/status" >&2
for _ in $(seq 1 $((timeout * 4))); do
	if curl -fs "http://$gateway/_local/status" >/dev/null 2>&1; then
		break
	fi
	kill -0 "$runtime_pid" 2>/dev/null || start_failed "the runtime exited during start-up"
	sleep 0.25
done
curl -fs "http://$gateway/_local/status" >/dev/null || start_failed "the runtime did not answer within ${timeout}s"

status=0
"$@" || status=$?
if [[ $status -ne 0 ]]; then
	echo "with-runtime: the command failed ($status); the runtime's last lines:" >&2
	tail -n 30 "$log" >&2
fi
exit "$status"
