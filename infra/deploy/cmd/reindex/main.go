// Command reindex writes the feed and word rows of every stored item as it
// is stored (dynamo.Store.Reindex) and prints {"items"}, how many it read.
// Run it once after upgrading tables written by a carrot older than the
// feeds, whose items are in no feed until they next change; it is safe
// while the system runs and idempotent, and it exits 1 when it could not
// finish (running it again goes on). It reads DYNAMODB_ENDPOINT,
// AWS_REGION and DYNAMODB_TABLE_PREFIX as the functions do, and scans the
// items table once.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"time"

	"github.com/carrot-market/carrot/infra/deploy"
	"github.com/carrot-market/carrot/infra/dynamo"
)

func main() {
	deploy.Operate("reindex", 30*time.Minute, 1, func(ctx context.Context, tables deploy.Tables) (int, error) {
		store, ok := tables.(*dynamo.Store)
		if !ok {
			return 1, errors.New("reindex needs DynamoDB tables")
		}
		n, err := store.Reindex(ctx)
		_ = json.NewEncoder(os.Stdout).Encode(map[string]int{"items": n})
		if err != nil {
			return 1, err
		}
		return 0, nil
	})
}
