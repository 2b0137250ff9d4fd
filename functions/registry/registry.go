// Package registry declares each of carrot's Knative functions once: its
// name, the HTTP routes it serves, the event types it consumes and emits,
// and the tables it touches. The functions' mains, the gateway (locally
// and in the cluster), the local runtime, infra/deploy (IAM policies), the
// component-test harness and the manifest checks all read it, so adding a
// function means declaring it here plus its main and its manifest under
// knative/services.
package registry

import (
	"net/http"
	"slices"
	"strings"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
)

// Function is one Knative function.
type Function struct {
	// Name is the Knative Service's name. Its event source is Source(),
	// its ServiceAccount and IAM role RoleName().
	Name string
	// Routes are the routes of the HTTP API the function serves.
	Routes []Route
	// Consumes is what the function does with each event type its trigger
	// delivers to POST /; nil when it has no trigger.
	Consumes app.Consumer
	// Emits are the event types the function publishes, sorted.
	Emits []events.Type
	// Relay makes POST / send every pending outbox event to the broker; a
	// PingSource calls it on a schedule.
	Relay bool
	// Reconcile makes POST / run the reconciler (app.Reconciler); a
	// PingSource calls it on a schedule.
	Reconcile bool
	// Proxy makes the function the gateway: the one Service reachable from
	// outside the cluster. It serves every route of Routes() by sending it
	// to the function that owns it (infra/gateway); it has no routes, no
	// trigger and no table of its own. Every other Service is
	// cluster-local.
	Proxy bool
	// Tables are the tables the function touches and what it does there.
	// Every function also describes every table at start, which is not
	// listed.
	Tables map[Table]Access
}

// Source is the CloudEvents source of the events the function emits.
func (f Function) Source() string { return "/carrot/" + f.Name }

// RoleName is the name of the function's ServiceAccount and, when it
// calls AWS, of its IAM role.
func (f Function) RoleName() string { return "carrot-" + f.Name }

// Authenticates reports whether a route of f needs a bearer token: only
// then is f given the settings that check tokens.
func (f Function) Authenticates() bool {
	return slices.ContainsFunc(f.Routes, func(rt Route) bool { return !rt.Public })
}

// CallsAWS reports whether the function calls AWS, and so has an IAM role
// (RoleName) bound to its ServiceAccount: every function that touches a
// table. The gateway calls none.
func (f Function) CallsAWS() bool { return len(f.Tables) > 0 }

// Route is one method and path of the HTTP API (SPEC section 4). Public
// routes need no token; every other one does.
type Route struct {
	Method string
	Path   string
	Public bool
}

// Methods are the methods the route is served for: its Method and, for a
// GET, HEAD, which answers the GET's status and headers without its body
// (RFC 9110, 9.3.2). The gateway and the functions bind the route for all
// of them.
func (rt Route) Methods() []string {
	if rt.Method == http.MethodGet {
		return []string{http.MethodGet, http.MethodHead}
	}
	return []string{rt.Method}
}

// Table is the logical name of one of carrot's tables; the physical name
// is a prefix followed by it (infra/dynamo defines each table).
type Table string

// The tables.
const (
	TableItems        Table = "items"
	TableReservations Table = "reservations"
	TableMessages     Table = "messages"
	TablePayments     Table = "payments"
	TableReviews      Table = "reviews"
	TableSellers      Table = "sellers"
	TableClaims       Table = "claims" // uniqueness: one open chat per buyer and item, one approved payment per reservation
	TableOutbox       Table = "outbox"
	TableHandled      Table = "handled" // consumers' dedupe records
	TableIdempotency  Table = "idempotency"
	TableMyPage       Table = "mypage"
	TableMyPageDeals  Table = "mypage-deals"
	TableChanges      Table = "changes" // the change log the reconciler reads, and its checkpoint
	TableFeed         Table = "feed"    // the item listings, written with each item
)

// Access is what a function does with one table.
type Access uint8

// Read covers GetItem, Query and Scan (of the table and its indexes) and
// the ConditionCheck of a transaction; Write covers PutItem and DeleteItem,
// alone or in a transaction, and BatchWriteItem. Conditional writes need no
// Read: the condition is evaluated by the database, not read by the caller.
const (
	Read Access = 1 << iota
	Write

	ReadWrite = Read | Write
)

// The routes of the HTTP API.
var (
	PostItems  = Route{http.MethodPost, "/items", false}
	GetItems   = Route{http.MethodGet, "/items", true}
	GetItem    = Route{http.MethodGet, "/items/{itemId}", true}
	PatchItem  = Route{http.MethodPatch, "/items/{itemId}", false}
	DeleteItem = Route{http.MethodDelete, "/items/{itemId}", false}

	PostReservations  = Route{http.MethodPost, "/reservations", false}
	GetReservation    = Route{http.MethodGet, "/reservations/{rsvId}", false}
	PatchReservation  = Route{http.MethodPatch, "/reservations/{rsvId}", false}
	DeleteReservation = Route{http.MethodDelete, "/reservations/{rsvId}", false}
	PostMessages      = Route{http.MethodPost, "/reservations/{rsvId}/messages", false}
	GetMessages       = Route{http.MethodGet, "/reservations/{rsvId}/messages", false}

	PostPayments  = Route{http.MethodPost, "/payments", false}
	GetPayment    = Route{http.MethodGet, "/payments/{payId}", false}
	PatchPayment  = Route{http.MethodPatch, "/payments/{payId}", false}
	DeletePayment = Route{http.MethodDelete, "/payments/{payId}", false}

	PostReviews    = Route{http.MethodPost, "/reviews", false}
	GetItemReviews = Route{http.MethodGet, "/items/{itemId}/reviews", true}
	GetUser        = Route{http.MethodGet, "/users/{userId}", true}
	GetUserReviews = Route{http.MethodGet, "/users/{userId}/reviews", true}

	GetMyPages = Route{http.MethodGet, "/myPages", false}
	GetMyPage  = Route{http.MethodGet, "/myPages/{itemId}", false}
)

// emitter adds what publishing events needs: the outbox row is written
// with the command's transaction, deleted once sent, and the outbox is
// scanned to relay what is left when the publisher fell behind.
func emitter(tables map[Table]Access) map[Table]Access {
	tables[TableOutbox] = ReadWrite
	return tables
}

// changer adds what writing items, reservations, payments or reviews
// needs: each write also logs a change for the reconciler, in the same
// transaction.
func changer(tables map[Table]Access) map[Table]Access {
	tables[TableChanges] = Write
	return tables
}

// The functions of carrot.
var (
	// Gateway is the public entry point of the cluster (Proxy).
	Gateway = Function{
		Name:  "gateway",
		Proxy: true,
	}
	RegisterItem = Function{
		Name:   "register-item",
		Routes: []Route{PostItems, GetItems, GetItem, PatchItem, DeleteItem},
		Emits:  []events.Type{events.ItemDeleted, events.ItemRegistered, events.ItemUpdated},
		Tables: changer(emitter(map[Table]Access{TableItems: ReadWrite, TableFeed: ReadWrite, TableIdempotency: ReadWrite})),
	}
	RequestChat = Function{
		Name:   "request-chat",
		Routes: []Route{PostReservations, GetReservation, PostMessages, GetMessages},
		Emits:  []events.Type{events.ChatMessagePosted, events.ReservationRequested},
		Tables: changer(emitter(map[Table]Access{TableItems: Read, TableClaims: ReadWrite, TableReservations: ReadWrite, TableMessages: ReadWrite, TableIdempotency: ReadWrite})),
	}
	ConfirmReservation = Function{
		Name:   "confirm-reservation",
		Routes: []Route{PatchReservation, DeleteReservation},
		Emits:  []events.Type{events.ItemReserved, events.ReservationConfirmed, events.ReservationDeleted},
		// Claims: requires the payment claim free, frees the chat claim.
		Tables: changer(emitter(map[Table]Access{TableReservations: ReadWrite, TableItems: ReadWrite, TableFeed: Write, TableClaims: ReadWrite})),
	}
	Pay = Function{
		Name:   "pay",
		Routes: []Route{PostPayments, GetPayment},
		Emits:  []events.Type{events.PaymentApproved},
		Tables: changer(emitter(map[Table]Access{TableReservations: Read, TableItems: Read, TableClaims: ReadWrite, TablePayments: ReadWrite, TableIdempotency: ReadWrite})),
	}
	CancelPayment = Function{
		Name:   "cancel-payment",
		Routes: []Route{PatchPayment, DeletePayment},
		Emits:  []events.Type{events.PaymentCancelled},
		// Claims: frees the payment claim; Reviews: a reviewed deal is closed.
		Tables: changer(emitter(map[Table]Access{TablePayments: ReadWrite, TableClaims: Write, TableReviews: Read})),
	}
	WriteReview = Function{
		Name:   "write-review",
		Routes: []Route{PostReviews, GetItemReviews, GetUser, GetUserReviews},
		Emits:  []events.Type{events.ReviewWritten},
		// Claims: a review needs the deal's payment approved as it is
		// written. It serves what is read of reviews, being the function
		// that owns them; Items, Feed and Sellers (read only) answer whether an
		// item exists and a profile's items and manner temperature.
		Tables: changer(emitter(map[Table]Access{TableReservations: Read, TableReviews: ReadWrite, TableClaims: Read, TableIdempotency: ReadWrite,
			TableItems: Read, TableFeed: Read, TableSellers: Read})),
	}
	ReservationPolicy = Function{
		Name:     "reservation-policy",
		Consumes: app.ReservationPolicy,
		Emits:    []events.Type{events.ReservationCompleted, events.ReservationReopened},
		// Payments and Claims: the source of truth of the payment facts.
		Tables: changer(emitter(map[Table]Access{TableReservations: ReadWrite, TablePayments: Read, TableClaims: Read, TableHandled: Write})),
	}
	ItemPolicy = Function{
		Name:     "item-policy",
		Consumes: app.ItemPolicy,
		Emits:    []events.Type{events.ItemReleased, events.ItemReserved, events.ItemScored, events.ItemSoldOut},
		// Reservations and Reviews: the sources of truth of the facts it takes.
		Tables: changer(emitter(map[Table]Access{TableItems: ReadWrite, TableFeed: Write, TableSellers: ReadWrite, TableReservations: Read,
			TableReviews: Read, TableHandled: Write})),
	}
	MyPage = Function{
		Name:     "mypage",
		Routes:   []Route{GetMyPages, GetMyPage},
		Consumes: app.MyPageProjector,
		// Items, Reservations and Payments: the sources it follows.
		Tables: map[Table]Access{TableMyPage: ReadWrite, TableMyPageDeals: ReadWrite, TableHandled: Write,
			TableItems: Read, TableReservations: Read, TablePayments: Read},
	}
	OutboxRelay = Function{
		Name:   "outbox-relay",
		Relay:  true,
		Tables: emitter(map[Table]Access{}),
	}
	// Reconciler is anti-entropy (app.Reconciler): a PingSource wakes it,
	// it reads the change log since its checkpoint and repairs what the
	// policies' lost events left disagreeing, emitting their facts.
	Reconciler = Function{
		Name:      "reconciler",
		Reconcile: true,
		Emits: []events.Type{events.ItemReleased, events.ItemReserved, events.ItemScored, events.ItemSoldOut,
			events.ReservationCompleted, events.ReservationReopened},
		// What the reservation policy, the item policy and the MyPage
		// projector read and write, and the change log with its checkpoint.
		Tables: emitter(map[Table]Access{TableChanges: ReadWrite, TableItems: ReadWrite, TableFeed: Write, TableReservations: ReadWrite,
			TablePayments: Read, TableClaims: Read, TableReviews: Read, TableSellers: ReadWrite, TableHandled: Write,
			TableMyPage: ReadWrite, TableMyPageDeals: ReadWrite}),
	}
)

// All is every function, sorted by name.
var All = sorted(Gateway, RegisterItem, RequestChat, ConfirmReservation, Pay, CancelPayment, WriteReview,
	ReservationPolicy, ItemPolicy, MyPage, OutboxRelay, Reconciler)

func sorted(fns ...Function) []Function {
	slices.SortFunc(fns, func(a, b Function) int { return strings.Compare(a.Name, b.Name) })
	return fns
}

// Named returns the function called name.
func Named(name string) (Function, bool) {
	i := slices.IndexFunc(All, func(f Function) bool { return f.Name == name })
	if i < 0 {
		return Function{}, false
	}
	return All[i], true
}

// Routes returns every route of the API with the function that serves it.
func Routes() map[Route]Function {
	routes := map[Route]Function{}
	for _, f := range All {
		for _, rt := range f.Routes {
			routes[rt] = f
		}
	}
	return routes
}
