package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// errMine is an op's own Conflict error, to see that Commit returns it.
var errMine = errors.New("the op's own conflict")

func now() time.Time { return time.Now().UTC() }

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

func newReservation(id, itemID, buyer, seller string) *market.Reservation {
	t := now()
	return market.RestoreReservation(market.ReservationState{ID: id, ItemID: itemID, BuyerID: buyer, SellerID: seller,
		Status: market.RsvCreated, Meeting: market.Meeting{Place: "seoul/mapo"}, CreatedAt: t, UpdatedAt: t})
}

func newPayment(id, rsvID, itemID string) *market.Payment {
	return market.RestorePayment(market.PaymentState{ID: id, RsvID: rsvID, ItemID: itemID, BuyerID: "buyer", SellerID: "seller",
		Amount: 15000, Status: market.PayApproved, CreatedAt: now()})
}

func mustCommit(t *testing.T, st interface {
	Commit(context.Context, ...app.Op) error
}, ops ...app.Op) {
	t.Helper()
	require.NoError(t, st.Commit(context.Background(), ops...))
}

func uid() string { return events.NewID() }

func itemEvent(t *testing.T, ctx context.Context, typ events.Type, itemID string) cloudevents.Event {
	t.Helper()
	e, err := events.New(ctx, typ, events.Meta{ID: events.NewID(), Source: "/carrot/test", Time: now()},
		&events.Item{ItemID: itemID, SellerID: "seller", Name: "bicycle", Category: "sports", Price: 15000,
			Photos: []string{}, Status: "CREATED", Version: 1, CreatedAt: now(), UpdatedAt: now()})
	require.NoError(t, err)
	return e
}

func requireCode(t *testing.T, code market.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, market.ErrorCode(err), "error: %v", err)
}

func fieldsOf(err error) []string {
	var me *market.Error
	if !errors.As(err, &me) {
		return nil
	}
	var names []string
	for _, f := range me.Fields {
		names = append(names, f.Field)
	}
	return names
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return out
}
