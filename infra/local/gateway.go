package local

import (
	"net/http"
	"time"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/functions/rest"
	"github.com/carrot-market/carrot/infra/web"
)

// Activators hands out the entry point of each function: a handler that
// starts an instance when there is none and respects the function's
// concurrency limits, as Knative's activator and queue-proxy do.
type Activators interface {
	Handler(function string) http.Handler
}

// devTokenTTL is how long a token from /auth/dev-token stays valid.
const devTokenTTL = 24 * time.Hour

// Gateway is the public entry of the local runtime, as the seed's gateway
// on :8088: every route of the API goes to the function that owns it
// (rest.Routes is the one table), plus two local-only routes:
// POST /auth/dev-token and GET /_local/status.
func Gateway(fns Activators, auth *web.Auth, status func() any) http.Handler {
	r := web.NewRouter()
	for _, rt := range (&rest.Handler{}).Routes() {
		r.Handle(rt.Path, fns.Handler(rt.Function)).Methods(rt.Method)
	}
	r.Handle("/auth/dev-token", devToken(auth)).Methods(http.MethodPost)
	r.HandleFunc("/_local/status", func(w http.ResponseWriter, _ *http.Request) {
		web.JSON(w, http.StatusOK, status())
	}).Methods(http.MethodGet)
	return r
}

// devToken issues a token for any user id: there are no passwords on a
// developer's machine. It exists only in the local runtime.
func devToken(auth *web.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UserID string `json:"userId"`
		}
		if err := web.Decode(r, &in); err != nil {
			web.Error(w, r, err)
			return
		}
		if in.UserID == "" {
			var f market.Fields
			f.Add("userId", "is required")
			web.Error(w, r, f.Err())
			return
		}
		tok, err := auth.Issue(in.UserID, devTokenTTL)
		if err != nil {
			var f market.Fields
			f.Add("userId", "%v", err)
			web.Error(w, r, f.Err())
			return
		}
		web.JSON(w, http.StatusOK, map[string]string{"token": tok, "userId": in.UserID})
	})
}
