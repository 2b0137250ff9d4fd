package local

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/carrot-market/carrot/infra/broker"
	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/infra/telemetry"
)

var meter = telemetry.Meter("github.com/carrot-market/carrot/infra/local")

// The broker's instruments, per trigger
// (messaging.destination.subscription.name). carrot.broker.records counts
// the records the trigger finished since the broker started, by outcome:
// delivered (a 2xx), dead_lettered, dropped (failed with no dead-letter
// sink, or the sink refused it) or filtered; retries count requests sent
// again after a retryable answer.
var (
	brokerLag     = gauge("carrot.broker.lag", "{record}", "Records of the broker topic the trigger has not committed yet.")
	brokerRecords = counter("carrot.broker.records", "{record}", "Records the trigger finished, by outcome.")
	brokerRetries = counter("carrot.broker.retries", "{request}", "Requests sent again after a retryable answer.")
)

// Serving's instruments, per function (faas.name), as Knative's activator
// and autoscaler would report them: instances by state, requests in
// flight and queued, cold starts (requests that found no live instance and
// started the first one) and rejections (503s of a full queue).
var (
	servingInstances  = gauge("carrot.serving.instances", "{instance}", "Instances by state: starting, ready, unready or stopping.")
	servingRequests   = gauge("carrot.serving.requests", "{request}", "Requests in flight on an instance, or queued for a free one.")
	servingColdStarts = counter("carrot.serving.cold_starts", "{start}", "Requests that found no live instance and started the first one.")
	servingRejections = counter("carrot.serving.rejections", "{request}", "Requests answered 503 because the queue was full.")
)

func gauge(name, unit, description string) metric.Int64ObservableGauge {
	return telemetry.Must(meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(description)))
}

func counter(name, unit, description string) metric.Int64ObservableCounter {
	return telemetry.Must(meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(description)))
}

// instanceStates are the states carrot.serving.instances reports, each
// every time, so that a state with no instance reads 0 rather than
// vanishing.
var instanceStates = []string{"starting", "ready", "unready", "stopping"}

// observeRuntime reports the broker's triggers and serving's functions
// at every scrape of telemetry.MetricsHandler, from their status
// snapshots, until the registration is unregistered. The broker's status
// asks Kafka for the lag, so a scrape waits for it (3 s at most); a lag
// Kafka could not tell is left out.
func observeRuntime(functions func() []serving.FunctionStatus, triggers func() []broker.TriggerStatus) (metric.Registration, error) {
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, t := range triggers() {
			trigger := semconv.MessagingDestinationSubscriptionNameKey.String(t.Name)
			if t.Lag >= 0 {
				o.ObserveInt64(brokerLag, t.Lag, metric.WithAttributes(trigger))
			}
			for outcome, n := range map[string]int64{"delivered": t.Delivered, "dead_lettered": t.DeadLettered, "dropped": t.Dropped, "filtered": t.Filtered} {
				o.ObserveInt64(brokerRecords, n, metric.WithAttributes(trigger, attribute.String("outcome", outcome)))
			}
			o.ObserveInt64(brokerRetries, t.Retried, metric.WithAttributes(trigger))
		}
		for _, f := range functions() {
			name := semconv.FaaSNameKey.String(f.Name)
			states := map[string]int64{}
			for _, inst := range f.Instances {
				states[inst.State]++
			}
			for _, s := range instanceStates {
				o.ObserveInt64(servingInstances, states[s], metric.WithAttributes(name, attribute.String("state", s)))
			}
			for state, n := range map[string]int{"in_flight": f.InFlight, "queued": f.Queued} {
				o.ObserveInt64(servingRequests, int64(n), metric.WithAttributes(name, attribute.String("state", state)))
			}
			o.ObserveInt64(servingColdStarts, f.ColdStarts, metric.WithAttributes(name))
			o.ObserveInt64(servingRejections, f.Rejected, metric.WithAttributes(name))
		}
		return nil
	}, brokerLag, brokerRecords, brokerRetries, servingInstances, servingRequests, servingColdStarts, servingRejections)
}
