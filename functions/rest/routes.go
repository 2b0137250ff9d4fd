package rest

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/web"
)

// Handler serves the HTTP API from the use cases of one Service.
type Handler struct {
	App *app.Service
}

// handlers binds every route of the API (functions/registry) to the
// method of h that serves it, through serve, or decoded for a route that
// takes a body.
func (h *Handler) handlers() map[registry.Route]http.HandlerFunc {
	return map[registry.Route]http.HandlerFunc{
		registry.PostItems:  decoded(h.PostItems),
		registry.GetItems:   serve(h.GetItems),
		registry.GetItem:    serve(h.GetItem),
		registry.PatchItem:  decoded(h.PatchItem),
		registry.DeleteItem: serve(h.DeleteItem),

		registry.PostReservations:  decoded(h.PostReservations),
		registry.GetReservation:    serve(h.GetReservation),
		registry.PatchReservation:  decoded(h.PatchReservation),
		registry.DeleteReservation: serve(h.DeleteReservation),
		registry.PostMessages:      decoded(h.PostMessages),
		registry.GetMessages:       serve(h.GetMessages),

		registry.PostPayments:  decoded(h.PostPayments),
		registry.GetPayment:    serve(h.GetPayment),
		registry.PatchPayment:  decoded(h.PatchPayment),
		registry.DeletePayment: serve(h.DeletePayment),

		registry.PostReviews: decoded(h.PostReviews),

		registry.GetMyPages: serve(h.GetMyPages),
		registry.GetMyPage:  serve(h.GetMyPage),
	}
}

// Mount adds routes to r, served by h. Routes that are not public require
// a bearer token, and POSTs honour the Idempotency-Key header. A route
// without a handler, or one that needs a token when auth is nil, is a
// wiring bug and panics.
func (h *Handler) Mount(r *mux.Router, routes []registry.Route, auth *web.Auth, idem web.IdempotencyStore) {
	handlers := h.handlers()
	for _, rt := range routes {
		handle, ok := handlers[rt]
		if !ok {
			panic(fmt.Sprintf("rest: no handler for %s %s", rt.Method, rt.Path))
		}
		var hh http.Handler = handle
		if rt.Method == http.MethodPost {
			hh = edge.Idempotent(idem)(hh)
		}
		if !rt.Public {
			if auth == nil {
				panic(fmt.Sprintf("rest: %s %s needs a token, and no auth was given", rt.Method, rt.Path))
			}
			hh = auth.Require(hh)
		}
		r.Handle(rt.Path, hh).Methods(rt.Methods()...)
	}
}

// page reads the limit and cursor query parameters of a listing.
func page(r *http.Request) (app.Page, error) {
	return pageOf(r, "limit", "cursor")
}

func pageOf(r *http.Request, limitParam, cursorParam string) (app.Page, error) {
	q := r.URL.Query()
	p := app.Page{Limit: app.DefaultPageLimit, Cursor: q.Get(cursorParam)}
	if s := q.Get(limitParam); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > app.MaxPageLimit {
			var f market.Fields
			f.Add(limitParam, "must be a whole number from 1 to %d", app.MaxPageLimit)
			return app.Page{}, f.Err()
		}
		p.Limit = n
	}
	return p, nil
}

func user(r *http.Request) string { return web.UserID(r.Context()) }

func vars(r *http.Request, name string) string { return mux.Vars(r)[name] }
