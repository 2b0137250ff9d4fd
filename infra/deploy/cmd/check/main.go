// Command check lists every broken rule of carrot's state (SPEC section 3)
// and every MyPage row that disagrees with its sources (app.Check): one line
// per finding, "rule ids: detail", then a summary line. It exits 0 when
// everything holds, 1 when something is broken, 2 when it could not read.
//
// It reads DYNAMODB_ENDPOINT, AWS_REGION and DYNAMODB_TABLE_PREFIX as the
// functions do, and scans whole tables: run it as an operator, not on a
// schedule against a large catalogue. On a running system a finding may be
// an effect still on its way through the broker; run it again to tell.
// -json prints the report as JSON instead.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/deploy"
)

func main() {
	asJSON := flag.Bool("json", false, "print the report as JSON")
	deploy.Operate("check", 10*time.Minute, 2, func(ctx context.Context, tables deploy.Tables) (int, error) {
		rep, err := app.Check(ctx, tables)
		if err != nil {
			return 2, err
		}
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rep)
		} else {
			for _, f := range rep.Findings {
				fmt.Println(f)
			}
			fmt.Printf("checked %d items, %d reservations, %d payments, %d reviews, %d rows, %d deals: %d findings\n",
				rep.Items, rep.Reservations, rep.Payments, rep.Reviews, rep.Rows, rep.Deals, len(rep.Findings))
		}
		if !rep.OK() {
			return 1, nil
		}
		return 0, nil
	})
}
