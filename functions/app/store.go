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

// Store keeps carrot's aggregates. Loads outside a unit of work serve
// queries; every change goes through Update. A missing aggregate is a
// market.NotFound error.
type Store interface {
	// Update runs change as one unit of work. Every aggregate and
	// uniqueness record the change reads through tx is loaded with its
	// version; when change returns nil, what it wrote through tx (state,
	// outbox rows, dedupe records) commits in one transaction that also
	// requires everything it read and did not write to be unchanged. When
	// a concurrent writer got there first, Update runs change again on
	// fresh loads, a bounded number of times, and then returns ErrStale.
	// An error from change is returned as it is and nothing is written. An
	// attempt that writes nothing commits nothing and is not checked. A
	// change writes each row at most once (DynamoDB refuses two actions on
	// one row in a transaction). Update returns the events the committed
	// attempt published, in order, for the caller to hand to a Publisher.
	Update(ctx context.Context, change func(Tx) error) ([]cloudevents.Event, error)

	Item(ctx context.Context, itemID string) (*market.Item, error)
	Items(ctx context.Context, f ItemFilter, p Page) ([]*market.Item, string, error)
	Reservation(ctx context.Context, rsvID string) (*market.Reservation, error)
	Messages(ctx context.Context, rsvID string, p Page) ([]market.Message, string, error)
	Payment(ctx context.Context, payID string) (*market.Payment, error)
	// Seller returns the seller's score record, a zero one (Version 0)
	// when the seller has no review yet.
	Seller(ctx context.Context, sellerID string) (*market.Seller, error)
	// Reviews pages through the reviews of one item or one seller, newest
	// first (by creation time, then review id). It may read an eventually
	// consistent index: a review written a moment ago may be missing.
	Reviews(ctx context.Context, of ReviewsOf, p Page) ([]market.Review, string, error)
}

// ReviewsOf names the reviews a listing holds: an item's when ItemID is
// set, otherwise those the seller SellerID received.
type ReviewsOf struct {
	ItemID   string
	SellerID string
}

// Tx is one attempt of a unit of work (Store.Update). Loads are strongly
// consistent and remembered with their versions; writes take effect only
// when the attempt commits. A Tx must not be used after its change returns.
//
// Each Save and Delete of a versioned aggregate returns the version the
// aggregate has once this attempt commits, the version its events carry.
// Saving an aggregate that was never stored (version 0) creates it and
// requires its id to be free.
type Tx interface {
	Item(itemID string) (*market.Item, error)
	Reservation(rsvID string) (*market.Reservation, error)
	Payment(payID string) (*market.Payment, error)
	// Seller returns the seller's score record, a zero one (Version 0)
	// when the seller has no review yet.
	Seller(sellerID string) (*market.Seller, error)
	// Reviewed reports whether the reservation has its review.
	Reviewed(rsvID string) (bool, error)
	// Review returns the review of the reservation, market.NotFound when
	// it has none.
	Review(rsvID string) (market.Review, error)
	// OpenChat returns the buyer's open reservation on the item, "" when
	// none: at most one reservation per buyer and item is open.
	OpenChat(itemID, buyerID string) (string, error)
	// ApprovedPayment returns the approved payment of the reservation, ""
	// when none: at most one payment per reservation is approved.
	ApprovedPayment(rsvID string) (string, error)

	SaveItem(it *market.Item) int64
	DeleteItem(it *market.Item) int64
	SaveReservation(r *market.Reservation) int64
	DeleteReservation(r *market.Reservation) int64
	SavePayment(p *market.Payment) int64
	SaveSeller(s *market.Seller) int64
	AddMessage(m market.Message)
	AddReview(rv market.Review)
	// SetOpenChat records rsvID as the buyer's open chat on the item, ""
	// closes it.
	SetOpenChat(itemID, buyerID, rsvID string)
	// SetApprovedPayment records payID as the reservation's approved
	// payment, "" clears it.
	SetApprovedPayment(rsvID, payID string)

	// Publish writes the event to the outbox; it is sent after commit.
	Publish(e cloudevents.Event)
	// MarkHandled records that consumer handled e. A unit of work whose
	// event was handled before fails with ErrDuplicate and writes
	// nothing, so a redelivered event is never applied twice.
	MarkHandled(consumer string, e cloudevents.Event)
	// MarkFact records that consumer applied the fact named fact (such as
	// a review's id), whatever event announced it: another event about
	// the same fact fails with ErrDuplicate as a redelivery does.
	MarkFact(consumer, fact string)
}

// ViewStore keeps the MyPage read model.
type ViewStore interface {
	// UpdateView runs change as one unit of work over the read model, as
	// Store.Update does.
	UpdateView(ctx context.Context, change func(ViewTx) error) error

	// Row returns the MyPage row of an item, market.NotFound when none.
	Row(ctx context.Context, itemID string) (*PageRow, error)
	// Rows pages through every item that is not deleted.
	Rows(ctx context.Context, p Page) ([]PageRow, string, error)
	// RowsBySeller pages through the items one seller lists.
	RowsBySeller(ctx context.Context, sellerID string, p Page) ([]PageRow, string, error)
	// DealsByBuyer pages through the reservations one buyer made.
	DealsByBuyer(ctx context.Context, buyerID string, p Page) ([]PageDeal, string, error)
}

// ViewTx is one attempt of a unit of work on the read model. Row is
// loaded with its version and checked at commit; the deals of a query are
// checked only where they are written.
type ViewTx interface {
	// Row returns the MyPage row of an item, nil when none.
	Row(itemID string) (*PageRow, error)
	// Deals returns every buyer-side row of one item.
	Deals(itemID string) ([]PageDeal, error)
	SaveRow(row *PageRow)
	DeleteRow(row *PageRow)
	SaveDeal(d *PageDeal)
	DeleteDeal(d *PageDeal)
	MarkHandled(consumer string, e cloudevents.Event)
}

// ItemFilter narrows an item listing, which answers newest first (by
// creation time, then by id, see FeedOrder). Status "" means on sale
// (market.ItemCreated): a listing always holds items of one status. A
// Region holds its sub-regions ("seoul" holds "seoul/mapo", see InRegion).
// Other empty fields, and nil price bounds, do not filter.
type ItemFilter struct {
	Status   market.ItemStatus
	Region   string
	Category string
	SellerID string
	MinPrice *int64 // at least, in won
	MaxPrice *int64 // at most, in won
	Query    string // words the name or description holds, any case (Search)
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

// ErrStale says a unit of work lost its optimistic-locking race on every
// attempt: what it loaded kept changing before it could commit.
var ErrStale = &market.Error{Code: market.Conflict, Message: "the data changed meanwhile; reload and retry"}

// ErrDuplicate is what a unit of work returns when its MarkHandled record
// exists: the event was handled before, and the consumer acknowledges it
// as done.
var ErrDuplicate = &market.Error{Code: market.Conflict, Message: "event already handled"}

// HandledKey names one consumer's handling of one event, keyed on the
// event's source and id as the CloudEvents spec defines uniqueness.
func HandledKey(consumer string, e cloudevents.Event) string {
	return consumer + "|" + e.Source() + "|" + e.ID()
}

// FactKey names one consumer's applying of one fact (Tx.MarkFact). It
// cannot collide with a HandledKey: a source is a URI reference and holds
// no "|fact|".
func FactKey(consumer, fact string) string { return consumer + "|fact|" + fact }

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

// PageLimit returns the number of rows page p holds: the default for 0, at
// most MaxPageLimit. A negative limit is Invalid.
func PageLimit(p Page) (int, error) {
	switch {
	case p.Limit < 0:
		var f market.Fields
		f.Add("limit", "must be between 1 and %d", MaxPageLimit)
		return 0, f.Err()
	case p.Limit == 0:
		return DefaultPageLimit, nil
	case p.Limit > MaxPageLimit:
		return MaxPageLimit, nil
	}
	return p.Limit, nil
}

// BadCursor is the error of a cursor that the listing did not give out.
func BadCursor() error {
	var f market.Fields
	f.Add("cursor", "is not a cursor of this listing; start again without it")
	return f.Err()
}

// ChangeLog lists which aggregates were written when, so that the
// reconciler (Reconcile) looks only at what changed since its last run and
// its cost follows the rate of writes, not the size of the catalogue.
// Every unit of work that saves, creates or deletes an item, reservation,
// payment or review records one Change of each, stamped with its commit
// time, in the same transaction. The log is kept per time bucket of
// ChangeBucket: a change stamped t is in the bucket ChangeBucketOf(t).
type ChangeLog interface {
	// Changed pages through the changes of the buckets that start in
	// [since, until), each aggregate at most once per bucket. since and
	// until are rounded down to a bucket. The listing is strongly
	// consistent: a unit of work committed before the call is in it.
	Changed(ctx context.Context, since, until time.Time, p Page) ([]Change, string, error)
	// Checkpoint returns where the reader name stopped, the zero time when
	// it never ran.
	Checkpoint(ctx context.Context, name string) (time.Time, error)
	// SetCheckpoint moves the reader name's checkpoint from from (what
	// Checkpoint returned) to to; ErrStale when another run moved it
	// meanwhile.
	SetCheckpoint(ctx context.Context, name string, from, to time.Time) error
}

// ChangeKind names the aggregate a Change is about.
type ChangeKind string

// The aggregates the change log follows.
const (
	ChangedItem        ChangeKind = "item"
	ChangedReservation ChangeKind = "reservation"
	ChangedPayment     ChangeKind = "payment"
	ChangedReview      ChangeKind = "review" // its ID is the review's reservation
)

// Change is one aggregate written in a bucket: its kind, its id (a
// review's is its reservation's, as it is stored) and the item it is of.
type Change struct {
	Kind   ChangeKind
	ID     string
	ItemID string
}

// ChangeBucket is the width of a bucket of the change log: the finest
// window the reconciler reads.
const ChangeBucket = 10 * time.Second

// ChangeBucketOf returns the start of the bucket of a change stamped t.
func ChangeBucketOf(t time.Time) time.Time { return t.UTC().Truncate(ChangeBucket) }
