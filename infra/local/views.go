package local

import (
	"context"
	"net/http"
	"time"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/web"
)

// viewOpsTimeout bounds one check or rebuild from the control routes.
const viewOpsTimeout = 5 * time.Minute

// ViewOps are the operator's checker and view rebuild over the runtime's
// tables (app.Check, app.Service.RebuildView), as the commands
// infra/deploy/cmd/check and rebuild-view run them against a cluster.
type ViewOps struct {
	Scanner app.Scanner
	Service *app.Service
}

// WithViewOps serves, in front of next, GET /_local/check (the checker's
// report as JSON: {"items", ..., "findings": [{"rule", "ids", "detail"}]},
// 200 whatever it finds) and POST /_local/mypage/rebuild (the rebuild's
// {"items", "rowsWritten", "rowsDeleted", "dealsWritten", "dealsDeleted"}).
func WithViewOps(ops ViewOps, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_local/check", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), viewOpsTimeout)
		defer cancel()
		rep, err := app.Check(ctx, ops.Scanner)
		if err != nil {
			edge.Error(w, r, err)
			return
		}
		if rep.Findings == nil {
			rep.Findings = []app.Finding{}
		}
		web.JSON(w, http.StatusOK, rep)
	})
	mux.HandleFunc("POST /_local/mypage/rebuild", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), viewOpsTimeout)
		defer cancel()
		rep, err := ops.Service.RebuildView(ctx, ops.Scanner)
		if err != nil {
			edge.Error(w, r, err)
			return
		}
		web.JSON(w, http.StatusOK, rep)
	})
	mux.Handle("/", next)
	return mux
}
