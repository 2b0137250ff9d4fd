package market_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
)

// The fixtures below describe one deal: seller lists item-1, buyer opens
// reservation rsv-a on it and pays with pay-a; other is a third user who takes
// part in nothing.
const (
	seller = "u-seller"
	buyer  = "u-buyer"
	other  = "u-other"
	itemID = "item-1"
	rsvA   = "rsv-a"
	rsvB   = "rsv-b"
	payA   = "pay-a"
	payB   = "pay-b"
)

var (
	t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
	t2 = t1.Add(time.Hour)
)

func validDetails() market.ItemDetails {
	return market.ItemDetails{
		Name:        "IKEA POÄNG armchair",
		Category:    "furniture",
		Price:       25_000,
		Description: "Used for two years, no stains.",
		Region:      "seoul/mapo",
		Photos:      []string{"https://img.carrot.example/1.jpg"},
	}
}

// itemIn restores item-1 of seller in status, held by rsvID ("" while on sale).
func itemIn(status market.ItemStatus, rsvID string) *market.Item {
	return market.RestoreItem(market.ItemState{
		ID: itemID, SellerID: seller, Details: validDetails(), Status: status, RsvID: rsvID,
		Version: 3, CreatedAt: t0, UpdatedAt: t0,
	})
}

// rsvIn restores reservation rsv-a of buyer on item-1 in status; payID is the
// approved payment of a COMPLETED one.
func rsvIn(status market.RsvStatus, payID string) *market.Reservation {
	m := market.Meeting{Place: "Mangwon station exit 2"}
	if status != market.RsvCreated {
		m.Date, m.Time = "2026-03-07", "14:30"
	}
	return market.RestoreReservation(market.ReservationState{
		ID: rsvA, ItemID: itemID, BuyerID: buyer, SellerID: seller, Status: status, Meeting: m,
		PayID: payID, Version: 2, CreatedAt: t0, UpdatedAt: t0,
	})
}

// confirmedRsv restores a confirmed reservation id of buyer on item-1.
func confirmedRsv(id string) *market.Reservation {
	s := rsvIn(market.RsvConfirmed, "").State()
	s.ID = id
	return market.RestoreReservation(s)
}

// itemAt restores item-1 in status as the sale leaves it: held by no
// reservation while on sale, by rsv-a once reserved or sold.
func itemAt(status market.ItemStatus) *market.Item {
	if status == market.ItemCreated {
		return itemIn(status, "")
	}
	return itemIn(status, rsvA)
}

// rsvAt restores rsv-a in status as the deal leaves it: paid with pay-a
// once COMPLETED, with no payment before.
func rsvAt(status market.RsvStatus) *market.Reservation {
	if status == market.RsvCompleted {
		return rsvIn(status, payA)
	}
	return rsvIn(status, "")
}

// MustItem lists a valid item through NewItem.
func MustItem(tb testing.TB) *market.Item {
	tb.Helper()
	it, err := market.NewItem(itemID, seller, validDetails(), t0)
	require.NoError(tb, err)
	return it
}

// requireCode fails unless err is a market error of code want; want "" means
// no error.
func requireCode(tb testing.TB, want market.Code, err error) {
	tb.Helper()
	if want == "" {
		require.NoError(tb, err)
		return
	}
	require.Error(tb, err)
	var me *market.Error
	require.True(tb, errors.As(err, &me), "want a *market.Error, got %T: %v", err, err)
	assert.Equal(tb, want, me.Code, "error: %v", err)
}

// requireRefusal fails unless err is a market error of code want that, when
// fields is not nil, names exactly those fields.
func requireRefusal(tb testing.TB, want market.Code, fields []string, err error) {
	tb.Helper()
	requireCode(tb, want, err)
	if fields != nil {
		assert.Equal(tb, fields, fieldsOf(tb, err))
	}
}

// assertFields checks that err is an Invalid error naming exactly the fields
// want, in order; a nil want means no error.
func assertFields(tb testing.TB, want []string, err error) {
	tb.Helper()
	if want == nil {
		assert.NoError(tb, err)
		return
	}
	assert.Equal(tb, want, fieldsOf(tb, err))
}

// assertValid checks that err is nil when valid, else an Invalid error
// naming fields.
func assertValid(tb testing.TB, valid bool, fields []string, err error) {
	tb.Helper()
	if valid {
		assert.NoError(tb, err)
		return
	}
	assertFields(tb, fields, err)
}

// check is one of an aggregate's permission checks, named for its subtests.
type check[A any] struct {
	name string
	call func(a A, by string) error
}

// assertRoundTrip restores state s and checks that State gives s back and
// that the accessors read what State stores: read builds the state from
// the accessors alone.
func assertRoundTrip[S any, A interface{ State() S }](tb testing.TB, s S, restore func(S) A, read func(A) S) {
	tb.Helper()
	a := restore(s)
	assert.Equal(tb, s, a.State(), "State gives back what was restored")
	assert.Equal(tb, s, read(a), "the accessors read what State stores")
}

// fieldsOf returns the field names an Invalid error names, in order.
func fieldsOf(tb testing.TB, err error) []string {
	tb.Helper()
	var me *market.Error
	require.True(tb, errors.As(err, &me), "want a *market.Error, got %T: %v", err, err)
	require.Equal(tb, market.Invalid, me.Code, "error: %v", err)
	names := make([]string, 0, len(me.Fields))
	for _, f := range me.Fields {
		assert.NotEmpty(tb, f.Message, "field %s has no message", f.Field)
		names = append(names, f.Field)
	}
	return names
}
