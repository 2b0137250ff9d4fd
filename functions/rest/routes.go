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

		registry.PostReviews:    decoded(h.PostReviews),
		registry.GetItemReviews: serve(h.GetItemReviews),
		registry.GetUser:        serve(h.GetUser),
		registry.GetUserReviews: serve(h.GetUserReviews),

		registry.GetMyPages: serve(h.GetMyPages),
		registry.GetMyPage:  serve(h.GetMyPage),
	}
}

// Mount adds routes to r, served by h. Routes that are not public require
// a bearer token, POSTs honour the Idempotency-Key header, and an id in
// the path that is not one is 404 (pathIDs). A route without a handler,
// or one that needs a token when auth is nil, is a wiring bug and panics.
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
		hh = pathIDs(hh) // before the Idempotency-Key's scope, which holds the path, is stored
		if !rt.Public {
			if auth == nil {
				panic(fmt.Sprintf("rest: %s %s needs a token, and no auth was given", rt.Method, rt.Path))
			}
			hh = auth.Require(hh)
		}
		r.Handle(rt.Path, hh).Methods(rt.Methods()...)
	}
}

// pathIDs answers 404 to a request whose path holds an id (itemId, rsvId,
// payId) that has not the form of one (market.IsID), or a userId that is
// not a user id (market.IsUserID): nothing has such an id, and it never
// reaches storage, whose keys it could overflow.
func pathIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name, id := range mux.Vars(r) {
			isID := market.IsID
			if name == "userId" {
				isID = market.IsUserID
			}
			if !isID(id) {
				edge.Error(w, r, market.Errorf(market.NotFound, "the %s in the path is not the id of anything", name))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// userIDParam reads the query parameter name, a user id when given: one
// out of form (market.IsUserID) is a 400 naming it.
func userIDParam(r *http.Request, name string) (string, error) {
	id := r.URL.Query().Get(name)
	return id, refuse(rule{id != "" && !market.IsUserID(id), name, market.UserIDRule})
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
