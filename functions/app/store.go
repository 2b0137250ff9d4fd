// Package app holds carrot's use cases: one file per command, policy or
// query. Each loads aggregates from a Store, lets the domain decide, and
// commits the new state together with the events it publishes in one
// transaction (the outbox), then hands those events to a Publisher.
package app

import (
	"context"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/functions/market"
)

// Store loads aggregates and commits transactions. Loads are strongly
// consistent. A missing aggregate is a market.NotFound error.
type Store interface {
	Item(ctx context.Context, itemID string) (*market.Item, error)
	Items(ctx context.Context, f ItemFilter, p Page) ([]*market.Item, string, error)
	Reservation(ctx context.Context, rsvID string) (*market.Reservation, error)
	Messages(ctx context.Context, rsvID string, p Page) ([]market.Message, string, error)
	Payment(ctx context.Context, payID string) (*market.Payment, error)
	// Seller returns the seller's score record, a zero one (Version 0) when
	// the seller has no review yet.
	Seller(ctx context.Context, sellerID string) (*market.Seller, error)
	// Claimed returns the owner recorded under a Claim key, "" when free.
	Claimed(ctx context.Context, key string) (string, error)

	// Commit applies every op atomically or none. When an op's condition
	// fails, Commit returns that op's Conflict error, or ErrStale when the
	// op has none; a collision with a concurrent transaction is ErrStale
	// too. Transactions of at most 100 ops are supported.
	Commit(ctx context.Context, ops ...Op) error
}

// ViewStore keeps the MyPage read model.
type ViewStore interface {
	// Row returns the MyPage row of an item, market.NotFound when none.
	Row(ctx context.Context, itemID string) (*PageRow, error)
	// Rows pages through every item that is not deleted.
	Rows(ctx context.Context, p Page) ([]PageRow, string, error)
	// RowsBySeller pages through the items one seller lists.
	RowsBySeller(ctx context.Context, sellerID string, p Page) ([]PageRow, string, error)
	// Deals returns every buyer-side row of one item.
	Deals(ctx context.Context, itemID string) ([]PageDeal, error)
	// DealsByBuyer pages through the reservations one buyer made.
	DealsByBuyer(ctx context.Context, buyerID string, p Page) ([]PageDeal, string, error)
	Commit(ctx context.Context, ops ...Op) error
}

// ItemFilter narrows an item listing; empty fields do not filter.
type ItemFilter struct {
	Status   market.ItemStatus
	Category string
	SellerID string
	Query    string // case-insensitive substring of the name or description
}

// Page asks for one page of a listing: at most Limit rows after Cursor, an
// opaque token from the previous page ("" for the first). An unreadable
// cursor is a market.Invalid error on field "cursor".
type Page struct {
	Limit  int
	Cursor string
}

// Page limits of every listing.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 200
)

// Op is one write of a transaction. The adapter guards every write with a
// condition: creates require the key to be free, updates and deletes
// require the version that was loaded (optimistic locking), and bump it.
type Op interface{ conflict() error }

// Each op's Conflict, when set, is what Commit returns if its condition fails.
type (
	SaveItem struct {
		Item     *market.Item
		Conflict error
	}
	DeleteItem struct {
		Item     *market.Item
		Conflict error
	}
	SaveReservation struct {
		Reservation *market.Reservation
		Conflict    error
	}
	DeleteReservation struct {
		Reservation *market.Reservation
		Conflict    error
	}
	// SaveMessage creates a message; messages are never changed.
	SaveMessage struct {
		Message  market.Message
		Conflict error
	}
	SavePayment struct {
		Payment  *market.Payment
		Conflict error
	}
	// SaveReview creates the one review of a reservation.
	SaveReview struct {
		Review   market.Review
		Conflict error
	}
	SaveSeller struct {
		Seller   *market.Seller
		Conflict error
	}
	// Claim records Owner under Key, which must be free: a uniqueness
	// constraint such as "one open chat per buyer and item".
	Claim struct {
		Key, Owner string
		Conflict   error
	}
	// Unclaim frees Key; freeing a free key is not a conflict.
	Unclaim struct{ Key string }
	// CheckItem and CheckReservation write nothing; they fail the
	// transaction when the aggregate changed since it was loaded.
	CheckItem struct {
		Item     *market.Item
		Conflict error
	}
	CheckReservation struct {
		Reservation *market.Reservation
		Conflict    error
	}
	// RequireUnclaimed fails the transaction while Key is claimed.
	RequireUnclaimed struct {
		Key      string
		Conflict error
	}
	// Publish writes the event to the outbox; it is sent after commit.
	Publish struct{ Event cloudevents.Event }
	// MarkHandled records that a consumer handled an event (Key from
	// HandledKey). Committing a key twice fails with ErrDuplicate, so the
	// effects of a redelivered event are never applied twice.
	MarkHandled struct{ Key string }
	// The MyPage read model. Rows and deals carry their own versions.
	SaveRow struct {
		Row      *PageRow
		Conflict error
	}
	DeleteRow struct {
		Row      *PageRow
		Conflict error
	}
	SaveDeal struct {
		Deal     *PageDeal
		Conflict error
	}
	DeleteDeal struct {
		Deal     *PageDeal
		Conflict error
	}
)

func (o SaveItem) conflict() error          { return o.Conflict }
func (o DeleteItem) conflict() error        { return o.Conflict }
func (o SaveReservation) conflict() error   { return o.Conflict }
func (o DeleteReservation) conflict() error { return o.Conflict }
func (o SaveMessage) conflict() error       { return o.Conflict }
func (o SavePayment) conflict() error       { return o.Conflict }
func (o SaveReview) conflict() error        { return o.Conflict }
func (o SaveSeller) conflict() error        { return o.Conflict }
func (o Claim) conflict() error             { return o.Conflict }
func (o CheckItem) conflict() error         { return o.Conflict }
func (o CheckReservation) conflict() error  { return o.Conflict }
func (o Unclaim) conflict() error           { return nil }
func (o RequireUnclaimed) conflict() error  { return o.Conflict }
func (o Publish) conflict() error           { return nil }
func (o MarkHandled) conflict() error       { return ErrDuplicate }
func (o SaveRow) conflict() error           { return o.Conflict }
func (o DeleteRow) conflict() error         { return o.Conflict }
func (o SaveDeal) conflict() error          { return o.Conflict }
func (o DeleteDeal) conflict() error        { return o.Conflict }

// ConflictOf returns the error Commit reports when op's condition fails.
func ConflictOf(op Op) error { return op.conflict() }

// ErrStale says a transaction lost an optimistic-locking race: what it
// loaded changed before it committed. Reload and try again.
var ErrStale = &market.Error{Code: market.Conflict, Message: "the data changed meanwhile; reload and retry"}

// ErrDuplicate is what Commit returns when a MarkHandled key exists: the
// event was handled before, and the consumer acknowledges it as done.
var ErrDuplicate = &market.Error{Code: market.Conflict, Message: "event already handled"}

// HandledKey names one consumer's handling of one event, keyed on the
// event's source and id as the CloudEvents spec defines uniqueness.
func HandledKey(consumer string, e cloudevents.Event) string {
	return consumer + "|" + e.Source() + "|" + e.ID()
}

// Publisher sends committed events to the broker right after commit.
// Publishing is best effort: events it could not send stay in the outbox
// and the relay sends them later, so Publish never fails a command.
type Publisher interface {
	Publish(ctx context.Context, events []cloudevents.Event)
}

// PageRow is one item on MyPage with the deal that holds it.
type PageRow struct {
	ItemID      string
	ItemName    string
	ItemStatus  string
	Price       int64
	SellerID    string
	Score       float64
	ReviewCount int
	RsvID       string
	RsvStatus   string
	BuyerID     string
	RsvDate     string
	RsvTime     string
	RsvPlace    string
	PayID       string
	PayStatus   string
	OpenChats   int
	UpdatedAt   time.Time
	Version     int64 // 0 until first stored
}

// PageDeal is one reservation as its buyer's MyPage shows it.
type PageDeal struct {
	RsvID      string
	ItemID     string
	BuyerID    string
	SellerID   string
	ItemName   string
	ItemStatus string
	Price      int64
	RsvStatus  string
	RsvDate    string
	RsvTime    string
	RsvPlace   string
	PayID      string
	PayStatus  string
	UpdatedAt  time.Time
	Version    int64 // 0 until first stored
}
