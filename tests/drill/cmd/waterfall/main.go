// Command waterfall draws one trace from Jaeger's query API as a PNG: a
// bar per span on a time axis, under its parent, coloured by service, with
// failed spans and retried delivery attempts marked. A Jaeger built from
// its Go module, as `make run` starts it, has no web UI; this is how to
// look at a trace there.
//
//	go run ./tests/drill/cmd/waterfall -out trace.png TRACE_ID
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/carrot-market/carrot/tests/drill"
)

func main() {
	jaeger := flag.String("jaeger", drill.JaegerQueryURL, "the base URL of Jaeger's query API")
	out := flag.String("out", "", "the PNG to write; default .data/trace-TRACE_ID.png")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: waterfall [-jaeger URL] [-out FILE] TRACE_ID")
		os.Exit(2)
	}
	id := flag.Arg(0)
	if *out == "" {
		*out = ".data/trace-" + id + ".png"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	trace, err := drill.FetchTrace(ctx, *jaeger, id)
	if err == nil {
		err = drill.SaveWaterfall(trace, "trace "+id, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d spans\n", *out, len(trace))
}
