package deploy

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/dynamo"
)

// Tables is carrot's DynamoDB tables as an operator command sees them: the
// sources, the MyPage view, and reads of whole tables.
type Tables interface {
	app.Store
	app.ViewStore
	app.Scanner
}

// Operate runs the operator command name (cmd/check, cmd/rebuild-view)
// against carrot's tables, opened as the functions open them: it reads
// DYNAMODB_ENDPOINT, AWS_REGION and DYNAMODB_TABLE_PREFIX. It adds the flag
// -timeout (default timeout) to those the command defined and parses the
// command line; run's context ends on SIGINT, SIGTERM or when the timeout
// passes. The process exits with the code run returns, after printing its
// error, if any, to stderr; when the tables cannot be opened, it prints why
// and exits with unavailable.
func Operate(name string, timeout time.Duration, unavailable int, run func(ctx context.Context, tables Tables) (code int, err error)) {
	flag.DurationVar(&timeout, "timeout", timeout, "give up after this long")
	flag.Parse()
	os.Exit(operate(name, timeout, unavailable, run))
}

// operate is Operate up to the exit, so that its contexts are released
// before the process ends.
func operate(name string, timeout time.Duration, unavailable int, run func(ctx context.Context, tables Tables) (int, error)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cfg := dynamo.ConfigFromEnv()
	client, err := dynamo.NewClient(ctx, cfg)
	code := unavailable
	if err == nil {
		code, err = run(ctx, dynamo.New(client, cfg.TablePrefix))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	}
	return code
}
