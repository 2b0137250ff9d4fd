package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/tests/system"
)

// measureTracedOverhead (2, tracing on) starts a second system, beside
// untraced, that records every span and exports it over OTLP to a
// receiver in this process, and times the same read through both gateways,
// alternating, as measurement 2 does: the cost of tracing on the request
// path, gateway, function and DynamoDB spans included, with both systems
// seeing the same machine at the same moments.
func measureTracedOverhead(ctx context.Context, c config, binary, root, work, prefix, endpoint string, ddb *dynamodb.Client, untraced *system.System, samples map[string]any) (Row, error) {
	progress("2 tracing on vs off")
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
	traced, err := startSystem(ctx, binary, root, filepath.Join(work, "run-"+prefix), prefix, endpoint, 0,
		map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.Endpoint()})
	if err != nil {
		return Row{}, err
	}
	defer traced.Close()
	onItem, err := listLamp(traced)
	if err != nil {
		return Row{}, err
	}
	offItem, err := listLamp(untraced)
	if err != nil {
		return Row{}, err
	}
	on, off := paired(request{Method: http.MethodGet, URL: traced.Gateway + "/items/" + onItem},
		request{Method: http.MethodGet, URL: untraced.Gateway + "/items/" + offItem}, c.overheadPairs)
	samples["overhead gateway, tracing on"], samples["overhead gateway, tracing off"] = on.samples, off.samples
	onS, offS := on.summary(), off.summary()
	return Row{Section: "2", Name: "GET /items/{id} through the gateway: tracing on (every span exported) vs off, alternating",
		Carrot: latency(onS), Raw: "off: " + latency(offS),
		Ratio: fmt.Sprintf("+%.2f ms p50, +%.2f ms p99; %d spans received", msf(onS.P50-offS.P50), msf(onS.P99-offS.P99), receiver.Count())}, nil
}
