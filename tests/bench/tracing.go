package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/tests/system"
)

// measureTracedOverhead (2, tracing on) runs measurement 2 again on a
// system of its own that records every span and exports it over OTLP, to
// a receiver in this process, and sets its gateway latency beside untraced,
// the same measurement's with tracing off in this run: the cost of tracing
// on the request path, gateway, function and DynamoDB spans included.
func measureTracedOverhead(ctx context.Context, c config, binary, root, work, prefix, endpoint string, ddb *dynamodb.Client, untraced Summary, samples map[string]any) (Row, error) {
	progress("2 tracing on")
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = dynamo.DeleteTables(cctx, ddb, prefix)
	}()
	receiver, err := system.StartSpanReceiver()
	if err != nil {
		return Row{}, err
	}
	defer receiver.Close()
	sys, err := startSystem(ctx, binary, root, filepath.Join(work, "run-"+prefix), prefix, endpoint, 0,
		map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.Endpoint()})
	if err != nil {
		return Row{}, err
	}
	defer sys.Close()
	own := map[string]any{}
	gw, _, err := measureOverhead(sys, c.overheadPairs, own)
	if err != nil {
		return Row{}, err
	}
	samples["overhead gateway, tracing on"] = own["overhead gateway"]
	return Row{Section: "2", Name: "GET /items/{id} through the gateway: tracing on (every span exported) vs off",
		Carrot: latency(gw), Raw: "off: " + latency(untraced),
		Ratio: fmt.Sprintf("+%.2f ms p50, +%.2f ms p99; %d spans received", msf(gw.P50-untraced.P50), msf(gw.P99-untraced.P99), receiver.Count())}, nil
}
