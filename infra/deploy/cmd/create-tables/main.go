// Command create-tables creates carrot's DynamoDB tables from the one
// definition the code uses (dynamo.Tables) and enables their TTL. The table
// bootstrap Job in knative/dynamodb-local runs it, built with ko; it works
// against Amazon DynamoDB too, given credentials that may create tables.
//
// It reads DYNAMODB_ENDPOINT, AWS_REGION and DYNAMODB_TABLE_PREFIX as the
// functions do. It waits for DynamoDB to answer (a DynamoDB Local started
// beside it may not be up yet), then creates what is missing; tables that
// exist are left as they are, so running it again is safe. It exits 1 when
// it cannot finish within -timeout.
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.uber.org/zap"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/web"
)

func main() {
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	log := web.Logger("create-tables")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := run(ctx, log); err != nil {
		log.Errorw("tables not created", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.SugaredLogger) error {
	cfg := dynamo.ConfigFromEnv()
	client, err := dynamo.NewClient(ctx, cfg)
	if err != nil {
		return err
	}
	if err := waitForDynamoDB(ctx, client, log); err != nil {
		return err
	}
	if err := dynamo.CreateTables(ctx, client, cfg.TablePrefix); err != nil {
		return err
	}
	var names []string
	for _, t := range dynamo.Tables(cfg.TablePrefix) {
		names = append(names, t.Name)
	}
	log.Infow("tables ready", "endpoint", cfg.Endpoint, "region", cfg.Region, "tables", names)
	return nil
}

// waitForDynamoDB lists tables until DynamoDB answers or ctx ends.
func waitForDynamoDB(ctx context.Context, client *dynamodb.Client, log *zap.SugaredLogger) error {
	delay := 500 * time.Millisecond
	for {
		_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		if err == nil {
			return nil
		}
		log.Infow("waiting for DynamoDB", "error", err, "retryIn", delay.String())
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}
