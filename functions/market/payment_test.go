package market_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
)

func TestPay(t *testing.T) {
	t.Parallel()
	held := func(status market.ItemStatus, rsv string, price int64) *market.Item {
		s := itemIn(status, rsv).State()
		s.Details.Price = price
		return market.RestoreItem(s)
	}
	tests := []struct {
		name      string
		rsvStatus market.RsvStatus
		item      *market.Item
		by        string
		want      market.Code
		expected  *int64 // the amount the buyer states, if any
	}{
		{"buyer states the agreed price", market.RsvConfirmed, held(market.ItemReserved, rsvA, 25_000), buyer, "", new(int64(25_000))},
		{"buyer states another price", market.RsvConfirmed, held(market.ItemReserved, rsvA, 25_000), buyer, market.Conflict, new(int64(1))},
		{"buyer pays the item's price", market.RsvConfirmed, held(market.ItemReserved, rsvA, 25_000), buyer, "", nil},
		{"free give-away", market.RsvConfirmed, held(market.ItemReserved, rsvA, 0), buyer, "", nil},
		{"maximum price", market.RsvConfirmed, held(market.ItemReserved, rsvA, market.MaxItemPrice), buyer, "", nil},

		{"seller", market.RsvConfirmed, held(market.ItemReserved, rsvA, 25_000), seller, market.Forbidden, nil},
		{"outsider", market.RsvConfirmed, held(market.ItemReserved, rsvA, 25_000), other, market.Forbidden, nil},
		{"anonymous", market.RsvConfirmed, held(market.ItemReserved, rsvA, 25_000), "", market.Forbidden, nil},
		{"chat not confirmed", market.RsvCreated, held(market.ItemReserved, rsvA, 25_000), buyer, market.Conflict, nil},
		{"already paid", market.RsvCompleted, held(market.ItemSoldOut, rsvA, 25_000), buyer, market.Conflict, nil},
		{"item held by another reservation", market.RsvConfirmed, held(market.ItemReserved, rsvB, 25_000), buyer, market.Conflict, nil},
		{"item on sale", market.RsvConfirmed, held(market.ItemCreated, "", 25_000), buyer, market.Conflict, nil},
		{"item already sold to this reservation", market.RsvConfirmed, held(market.ItemSoldOut, rsvA, 25_000), buyer, market.Conflict, nil},
		{"another item", market.RsvConfirmed, market.RestoreItem(market.ItemState{
			ID: "item-2", SellerID: seller, Details: validDetails(), Status: market.ItemReserved, RsvID: rsvA,
		}), buyer, market.Conflict, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := rsvIn(tt.rsvStatus, "").State()
			st.AgreedPrice = tt.item.Price() // as confirming recorded it
			r := market.RestoreReservation(st)
			rBefore, itBefore := r.State(), tt.item.State()

			p, err := market.Pay(payA, r, tt.item, tt.by, tt.expected, t1)
			assert.Equal(t, rBefore, r.State(), "Pay changes neither the reservation")
			assert.Equal(t, itBefore, tt.item.State(), "nor the item: events do")
			if tt.want != "" {
				requireCode(t, tt.want, err)
				assert.Nil(t, p)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, market.PaymentState{
				ID: payA, RsvID: rsvA, ItemID: itemID, BuyerID: buyer, SellerID: seller,
				Amount: tt.item.Price(), Status: market.PayApproved, CreatedAt: t1,
			}, p.State())
			assert.True(t, p.CancelledAt().IsZero())
		})
	}
}

func TestPaymentCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		by   string
		want market.Code
	}{
		{"buyer withdraws", buyer, ""},
		{"seller refunds", seller, ""},
		{"outsider", other, market.Forbidden},
		{"anonymous", "", market.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := approved()
			before := p.State()

			changed, err := p.Cancel(tt.by, t1)
			requireCode(t, tt.want, err)
			if tt.want != "" {
				assert.False(t, changed)
				assert.Equal(t, before, p.State(), "a refused cancel changes nothing")
				return
			}
			assert.True(t, changed)
			assert.Equal(t, market.PayDeleted, p.Status())
			assert.Equal(t, t1, p.CancelledAt())

			// Cancelling again answers with the cancelled payment, unchanged.
			changed, err = p.Cancel(tt.by, t2)
			require.NoError(t, err)
			assert.False(t, changed, "a second cancel changes nothing")
			assert.Equal(t, market.PayDeleted, p.Status())
			assert.Equal(t, t1, p.CancelledAt(), "cancelledAt is the first cancel's")

			_, err = p.Cancel(other, t2)
			requireCode(t, market.Forbidden, err)
		})
	}
}

func TestPaymentCheckView(t *testing.T) {
	t.Parallel()
	tests := []struct {
		by   string
		want market.Code
	}{
		{buyer, ""},
		{seller, ""},
		{other, market.Forbidden},
		{"", market.Forbidden},
	}
	for _, tt := range tests {
		t.Run("by "+tt.by, func(t *testing.T) {
			t.Parallel()
			requireCode(t, tt.want, approved().CheckView(tt.by))
		})
	}
}

func TestPaymentStateRoundTrip(t *testing.T) {
	t.Parallel()
	s := market.PaymentState{
		ID: payA, RsvID: rsvA, ItemID: itemID, BuyerID: buyer, SellerID: seller, Amount: 25_000,
		Status: market.PayDeleted, Version: 2, CreatedAt: t1, CancelledAt: t2,
	}
	assertRoundTrip(t, s, market.RestorePayment, func(p *market.Payment) market.PaymentState {
		return market.PaymentState{ID: p.ID(), RsvID: p.RsvID(), ItemID: p.ItemID(), BuyerID: p.BuyerID(), SellerID: p.SellerID(),
			Amount: p.Amount(), Status: p.Status(), Version: p.Version(), CreatedAt: p.CreatedAt(), CancelledAt: p.CancelledAt()}
	})

	fresh := approved()
	assert.Equal(t, fresh.State(), market.RestorePayment(fresh.State()).State())
}

// approved returns pay-a, the buyer's approved payment of rsv-a.
func approved() *market.Payment {
	return market.RestorePayment(market.PaymentState{
		ID: payA, RsvID: rsvA, ItemID: itemID, BuyerID: buyer, SellerID: seller, Amount: 25_000,
		Status: market.PayApproved, Version: 1, CreatedAt: t0, CancelledAt: time.Time{},
	})
}
