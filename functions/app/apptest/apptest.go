// Package apptest is the contract suite of carrot's storage ports,
// app.Store and app.ViewStore. Every adapter runs it against its real
// backend (the in-memory store against maps, the DynamoDB store against
// DynamoDB Local), so that use cases tested on one may trust the other.
//
// The suite holds the adapters to the port documentation in
// functions/app/store.go and to nothing more: where an adapter promises
// more (an order, a limit of its backend), its own tests check it.
//
// It also holds what tests of use cases share, over any store: Broker
// stands in for the broker and its triggers, and DropView drops the view
// for tests that rebuild it.
package apptest

import (
	"context"
	"errors"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// Stores is one adapter under test: fresh, empty stores of both ports and
// the read-backs the ports do not offer. Store and Views may be one value.
type Stores struct {
	Store app.Store
	Views app.ViewStore
	Inspector
}

// Inspector reads back what the suite must see and no use case reads.
type Inspector interface {
	// Outbox returns the events committed and not yet sent, in commit
	// order and in publishing order within a commit.
	Outbox(ctx context.Context) ([]cloudevents.Event, error)
	// Review returns the review of a reservation, market.NotFound when
	// there is none.
	Review(ctx context.Context, rsvID string) (market.Review, error)
}

// TestStore runs the contract suite. newStores returns empty stores and
// releases them when its test ends; it is called a few times, for the
// tests that must see a store to themselves (listings without a filter).
// Every other subtest shares one store, runs in parallel and keeps to ids
// of its own.
func TestStore(t *testing.T, newStores func(t *testing.T) Stores) {
	s := newStores(t)
	t.Run("round trip", func(t *testing.T) { t.Parallel(); testRoundTrips(t, s) })
	t.Run("missing", func(t *testing.T) { t.Parallel(); testMissing(t, s) })
	t.Run("optimistic locking", func(t *testing.T) { t.Parallel(); testLocking(t, s) })
	t.Run("reads are checked at commit", func(t *testing.T) { t.Parallel(); testReadChecks(t, s) })
	t.Run("all or nothing", func(t *testing.T) { t.Parallel(); testAllOrNothing(t, s) })
	t.Run("uniqueness", func(t *testing.T) { t.Parallel(); testUniqueness(t, s) })
	t.Run("mark handled", func(t *testing.T) { t.Parallel(); testMarkHandled(t, s) })
	t.Run("published events", func(t *testing.T) { t.Parallel(); testPublished(t, s) })
	t.Run("listings", func(t *testing.T) { t.Parallel(); testListings(t, newStores(t)) })
	t.Run("review listings", func(t *testing.T) { t.Parallel(); testReviewListings(t, s) })
	t.Run("page limits", func(t *testing.T) { t.Parallel(); testPageLimits(t, newStores(t)) })
	t.Run("feeds follow their items", func(t *testing.T) { t.Parallel(); testFeedsFollowItems(t, s) })
	t.Run("search", func(t *testing.T) { t.Parallel(); testSearch(t, s) })
	t.Run("search of long words", func(t *testing.T) { t.Parallel(); testLongWords(t, s) })
	t.Run("feed cursors under concurrent inserts", func(t *testing.T) { t.Parallel(); testFeedCursors(t, s) })
	t.Run("change log", func(t *testing.T) { t.Parallel(); testChangeLog(t, newStores(t)) })
}

// DropView deletes the MyPage row and the buyers' rows of every item of
// snap's view through views, one unit of work per item, as an operator
// dropping the view tables would. Rows written after snap was read stay.
func DropView(ctx context.Context, views app.ViewStore, snap *app.Snapshot) error {
	for _, id := range snap.ViewItems() {
		err := views.UpdateView(ctx, func(tx app.ViewTx) error {
			row, err := tx.Row(id)
			if err != nil {
				return err
			}
			if row != nil {
				tx.DeleteRow(row)
			}
			deals, err := tx.Deals(id)
			for _, d := range deals {
				tx.DeleteDeal(&d)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

var ctx = context.Background()

// errMine is a change's own error, to see that Update returns it as it is.
var errMine = errors.New("the change's own error")

func uid() string { return events.NewID() }

func now() time.Time { return time.Now().UTC() }

// Day is the date n days after today in Seoul, the marketplace's time
// (market.Seoul), as YYYY-MM-DD: a meeting on it stays ahead whenever the
// suite runs, as a meeting must.
func Day(n int) string {
	return now().In(market.Seoul).AddDate(0, 0, n).Format(time.DateOnly)
}

// update runs change in a unit of work of s.Store and returns the events
// it published and how often change ran.
func update(s Stores, change func(tx app.Tx, attempt int) error) ([]cloudevents.Event, int, error) {
	runs := 0
	evs, err := s.Store.Update(ctx, func(tx app.Tx) error {
		runs++
		return change(tx, runs)
	})
	return evs, runs, err
}

// updateView is update for s.Views.
func updateView(s Stores, change func(tx app.ViewTx, attempt int) error) (int, error) {
	runs := 0
	err := s.Views.UpdateView(ctx, func(tx app.ViewTx) error {
		runs++
		return change(tx, runs)
	})
	return runs, err
}

// mustWrite commits writes, which neither read nor fail, in one unit of
// work.
func mustWrite(t *testing.T, s Stores, writes func(tx app.Tx)) []cloudevents.Event {
	t.Helper()
	evs, _, err := update(s, func(tx app.Tx, _ int) error { writes(tx); return nil })
	require.NoError(t, err)
	return evs
}

// mustWriteView is mustWrite for s.Views.
func mustWriteView(t *testing.T, s Stores, writes func(tx app.ViewTx)) {
	t.Helper()
	_, err := updateView(s, func(tx app.ViewTx, _ int) error { writes(tx); return nil })
	require.NoError(t, err)
}

// mustRead runs read in a unit of work of s.Store that writes nothing.
func mustRead(t *testing.T, s Stores, read func(tx app.Tx) error) {
	t.Helper()
	evs, _, err := update(s, func(tx app.Tx, _ int) error { return read(tx) })
	require.NoError(t, err)
	assert.Empty(t, evs)
}

func newItem(id, seller string, d market.ItemDetails) *market.Item {
	t := now()
	if d.Name == "" {
		d.Name = "bicycle " + id
	}
	if d.Category == "" {
		d.Category = "sports"
	}
	if d.Photos == nil {
		d.Photos = []string{}
	}
	return market.RestoreItem(market.ItemState{ID: id, SellerID: seller, Details: d, Status: market.ItemCreated,
		CreatedAt: t, UpdatedAt: t})
}

func newReservation(id, itemID string) *market.Reservation {
	t := now()
	return market.RestoreReservation(market.ReservationState{ID: id, ItemID: itemID, BuyerID: "buyer", SellerID: "seller",
		Status: market.RsvCreated, Meeting: market.Meeting{Place: "seoul/mapo"}, CreatedAt: t, UpdatedAt: t})
}

func newPayment(id, rsvID string) *market.Payment {
	return market.RestorePayment(market.PaymentState{ID: id, RsvID: rsvID, ItemID: "item", BuyerID: "buyer", SellerID: "seller",
		Amount: 15000, Status: market.PayApproved, CreatedAt: now()})
}

func newReview(rsvID string) market.Review {
	return market.Review{ID: uid(), RsvID: rsvID, ItemID: "item", ReviewerID: "buyer", SellerID: "seller",
		Score: 5, Comment: "친절해요", CreatedAt: now()}
}

// traced carries a request's trace context, so that every event the suite
// publishes has an extension for the adapters to keep.
var traced = events.WithTraceparent(ctx, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")

// newEvent returns a valid event about an item, traced as the events of a
// request are.
func newEvent(t *testing.T, itemID string) cloudevents.Event {
	t.Helper()
	e, err := events.New(traced, events.ItemUpdated, events.Meta{ID: uid(), Source: "/carrot/apptest", Time: now()},
		&events.Item{ItemID: itemID, SellerID: "seller", Name: "bicycle", Category: "sports", Price: 15000,
			Photos: []string{}, Status: "CREATED", Version: 1, CreatedAt: now(), UpdatedAt: now()})
	require.NoError(t, err)
	return e
}

// outboxHas returns the events of the outbox with these ids, in outbox
// order: the outbox is shared by the parallel subtests.
func outboxHas(t *testing.T, s Stores, ids ...string) []string {
	t.Helper()
	evs, err := s.Outbox(ctx)
	require.NoError(t, err)
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var got []string
	for _, e := range evs {
		if want[e.ID()] {
			got = append(got, e.ID())
		}
	}
	return got
}

func eventIDs(evs []cloudevents.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID())
	}
	return out
}

func assertCode(t *testing.T, code market.Code, err error) bool {
	t.Helper()
	return assert.Error(t, err) && assert.Equal(t, code, market.ErrorCode(err), "error: %v", err)
}

// assertInvalid checks that err is Invalid on exactly this field.
func assertInvalid(t *testing.T, field string, err error) {
	t.Helper()
	if !assertCode(t, market.Invalid, err) {
		return
	}
	var me *market.Error
	require.ErrorAs(t, err, &me)
	var fields []string
	for _, f := range me.Fields {
		fields = append(fields, f.Field)
	}
	assert.Equal(t, []string{field}, fields)
}
