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
// method of h that serves it.
func (h *Handler) handlers() map[registry.Route]http.HandlerFunc {
	return map[registry.Route]http.HandlerFunc{
		registry.PostItems:  h.PostItems,
		registry.GetItems:   h.GetItems,
		registry.GetItem:    h.GetItem,
		registry.PatchItem:  h.PatchItem,
		registry.DeleteItem: h.DeleteItem,

		registry.PostReservations:  h.PostReservations,
		registry.GetReservation:    h.GetReservation,
		registry.PatchReservation:  h.PatchReservation,
		registry.DeleteReservation: h.DeleteReservation,
		registry.PostMessages:      h.PostMessages,
		registry.GetMessages:       h.GetMessages,

		registry.PostPayments:  h.PostPayments,
		registry.GetPayment:    h.GetPayment,
		registry.PatchPayment:  h.PatchPayment,
		registry.DeletePayment: h.DeletePayment,

		registry.PostReviews: h.PostReviews,

		registry.GetMyPages: h.GetMyPages,
		registry.GetMyPage:  h.GetMyPage,
	}
}

// Mount adds routes to r, served by h. Routes that are not public require
// a bearer token, and POSTs honour the Idempotency-Key header. A route
// without a handler is a wiring bug and panics.
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
			hh = auth.Require(hh)
		}
		r.Handle(rt.Path, hh).Methods(rt.Method)
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

// created answers 201 with the new resource and its Location.
func created(w http.ResponseWriter, location string, v any) {
	w.Header().Set("Location", location)
	web.JSON(w, http.StatusCreated, v)
}
