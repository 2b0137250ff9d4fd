// Package telemetry starts OpenTelemetry in a carrot process: the tracer
// provider that exports spans over OTLP (tracing.go) and the meter provider
// that serves Prometheus metrics (metrics.go). Only the wiring calls it
// (infra/boot, the local runtime, the commands); the adapters record spans
// through the global otel API, which stays a no-op until StartTracing
// installs a provider.
//
// Telemetry never adds a failure: a collector that is down or slow costs
// dropped spans and a rate-limited log line, never a failed or delayed
// request.
package telemetry
