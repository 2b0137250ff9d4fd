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
	"os"
	"time"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/deploy"
)

func main() {
	deploy.Operate("rebuild-view", 30*time.Minute, 1, func(ctx context.Context, tables deploy.Tables) (int, error) {
		svc := &app.Service{Store: tables, Views: tables, Source: "/carrot/rebuild-view"}
		rep, err := svc.RebuildView(ctx, tables)
		_ = json.NewEncoder(os.Stdout).Encode(rep)
		if err != nil {
			return 1, err
		}
		return 0, nil
	})
}
