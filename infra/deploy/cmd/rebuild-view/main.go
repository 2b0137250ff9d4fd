// Command rebuild-view writes the MyPage view tables from the sources
// (SPEC 3.5, app.Service.RebuildView) and prints what it wrote as JSON:
// {"items", "rowsWritten", "rowsDeleted", "dealsWritten", "dealsDeleted"}.
// It is safe while the system runs and idempotent: every item is one
// conditional unit of work that loads the item's rows before its sources,
// as the projector does, so it never writes an older state over a newer
// projection, and a second run writes nothing. It exits 1 when it could not
// finish; running it again goes on where it stopped.
//
// It reads DYNAMODB_ENDPOINT, AWS_REGION and DYNAMODB_TABLE_PREFIX as the
// functions do, and scans the source and view tables once.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/dynamo"
)

func main() {
	timeout := flag.Duration("timeout", 30*time.Minute, "give up after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	cfg := dynamo.ConfigFromEnv()
	client, err := dynamo.NewClient(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rebuild-view:", err)
		os.Exit(1)
	}
	store := dynamo.New(client, cfg.TablePrefix)
	svc := &app.Service{Store: store, Views: store, Source: "/carrot/rebuild-view"}
	rep, err := svc.RebuildView(ctx, store)
	out, _ := json.Marshal(rep)
	fmt.Println(string(out))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rebuild-view:", err)
		os.Exit(1)
	}
}
