package rest

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/web"
)

// Handler serves the HTTP API from the use cases of one Service.
type Handler struct {
	App *app.Service
}

// Route is one method and path of the API and the Knative function that
// serves it. Public routes need no token; every other one does.
type Route struct {
	Function string
	Method   string
	Path     string
	Public   bool
	Handle   http.HandlerFunc
}

// The functions that serve the HTTP API.
const (
	RegisterItem       = "register-item"
	RequestChat        = "request-chat"
	ConfirmReservation = "confirm-reservation"
	Pay                = "pay"
	CancelPayment      = "cancel-payment"
	WriteReview        = "write-review"
	MyPage             = "mypage"
)

// Routes is the whole API, SPEC section 4, with the function that owns each
// route. It is the one list: functions mount their share of it and the
// local gateway routes by it.
func (h *Handler) Routes() []Route {
	return []Route{
		{RegisterItem, http.MethodPost, "/items", false, h.PostItems},
		{RegisterItem, http.MethodGet, "/items", true, h.GetItems},
		{RegisterItem, http.MethodGet, "/items/{itemId}", true, h.GetItem},
		{RegisterItem, http.MethodPatch, "/items/{itemId}", false, h.PatchItem},
		{RegisterItem, http.MethodDelete, "/items/{itemId}", false, h.DeleteItem},

		{RequestChat, http.MethodPost, "/reservations", false, h.PostReservations},
		{RequestChat, http.MethodGet, "/reservations/{rsvId}", false, h.GetReservation},
		{RequestChat, http.MethodPost, "/reservations/{rsvId}/messages", false, h.PostMessages},
		{RequestChat, http.MethodGet, "/reservations/{rsvId}/messages", false, h.GetMessages},

		{ConfirmReservation, http.MethodPatch, "/reservations/{rsvId}", false, h.PatchReservation},
		{ConfirmReservation, http.MethodDelete, "/reservations/{rsvId}", false, h.DeleteReservation},

		{Pay, http.MethodPost, "/payments", false, h.PostPayments},
		{Pay, http.MethodGet, "/payments/{payId}", false, h.GetPayment},

		{CancelPayment, http.MethodPatch, "/payments/{payId}", false, h.PatchPayment},
		{CancelPayment, http.MethodDelete, "/payments/{payId}", false, h.DeletePayment},

		{WriteReview, http.MethodPost, "/reviews", false, h.PostReviews},

		{MyPage, http.MethodGet, "/myPages", false, h.GetMyPages},
		{MyPage, http.MethodGet, "/myPages/{itemId}", false, h.GetMyPage},
	}
}

// Mount adds the routes of function to r ("" mounts every route). Routes
// that are not public require a bearer token, and POSTs honour the
// Idempotency-Key header.
func Mount(r *mux.Router, routes []Route, function string, auth *web.Auth, idem web.IdempotencyStore) {
	for _, rt := range routes {
		if function != "" && rt.Function != function {
			continue
		}
		var h http.Handler = rt.Handle
		if rt.Method == http.MethodPost {
			h = edge.Idempotent(idem)(h)
		}
		if !rt.Public {
			h = auth.Require(h)
		}
		r.Handle(rt.Path, h).Methods(rt.Method)
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
