package dynamo_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
)

// TestCheckAndRebuildOnDynamoDB runs a deal on DynamoDB Local with every
// policy and the projector, then checks the tables through the store's
// scans, breaks a claim and the view, and rebuilds the view.
func TestCheckAndRebuildOnDynamoDB(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := dynamotest.MustStore(t)
	svc := func(source string) *app.Service {
		return &app.Service{Store: s, Views: s, Source: "/carrot/" + source}
	}
	cmd := svc("cmd")
	consumers := []struct {
		h app.EventHandler
		c app.Consumer
	}{
		{svc("reservation-policy").Handler(app.ReservationPolicy), app.ReservationPolicy},
		{svc("item-policy").Handler(app.ItemPolicy), app.ItemPolicy},
		{svc("mypage").Handler(app.MyPageProjector), app.MyPageProjector},
	}
	// deliver hands what the outbox holds to the consumers, as the relay and
	// the broker's triggers would, until they publish nothing more.
	deliver := func() {
		for {
			evs, err := s.PendingEvents(ctx, 0)
			require.NoError(t, err)
			if len(evs) == 0 {
				return
			}
			for _, e := range evs {
				for _, c := range consumers {
					if _, ok := c.c[events.Type(e.Type())]; ok {
						require.NoError(t, c.h(ctx, e), "%s", e.Type())
					}
				}
				require.NoError(t, s.MarkSent(ctx, e.ID()))
			}
		}
	}
	it, err := cmd.RegisterItem(ctx, "seller", market.ItemDetails{Name: "lamp", Category: "home", Price: 9000})
	require.NoError(t, err)
	r, _, err := cmd.RequestChat(ctx, "buyer", it.ID(), "")
	require.NoError(t, err)
	_, _, err = cmd.RequestChat(ctx, "other", it.ID(), "")
	require.NoError(t, err)
	_, err = cmd.ConfirmReservation(ctx, "seller", r.ID(), market.Meeting{Date: "2026-05-01", Time: "10:00", Place: "park"})
	require.NoError(t, err)
	p, err := cmd.Pay(ctx, "buyer", r.ID(), "", nil)
	require.NoError(t, err)
	deliver()
	_, err = cmd.WriteReview(ctx, "buyer", r.ID(), 5, "")
	require.NoError(t, err)
	deliver()

	snap, err := s.Snapshot(ctx)
	require.NoError(t, err)
	assert.Equal(t, p.ID(), snap.Approved[r.ID()])
	assert.Len(t, snap.OpenChats, 2)
	assert.Len(t, snap.Deals[it.ID()], 2)
	assert.Equal(t, 1, snap.Sellers["seller"].ReviewCount)
	rep, err := app.Check(ctx, s)
	require.NoError(t, err)
	require.Empty(t, rep.Findings)

	_, err = s.Update(ctx, func(tx app.Tx) error { tx.SetApprovedPayment(r.ID(), ""); return nil })
	require.NoError(t, err)
	require.NoError(t, s.UpdateView(ctx, func(tx app.ViewTx) error {
		row, err := tx.Row(it.ID())
		if err == nil {
			tx.DeleteRow(row)
		}
		return err
	}))
	rep, err = app.Check(ctx, s)
	require.NoError(t, err)
	var rules []string
	for _, f := range rep.Findings {
		rules = append(rules, f.Rule)
	}
	assert.Subset(t, rules, []string{app.RuleCompletedPaid, app.RulePaymentApproved, app.RuleReviewPaid, app.RuleViewRow}, "%v", rep.Findings)

	_, err = s.Update(ctx, func(tx app.Tx) error { tx.SetApprovedPayment(r.ID(), p.ID()); return nil })
	require.NoError(t, err)
	rebuilt, err := cmd.RebuildView(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, app.RebuildReport{Items: 1, RowsWritten: 1}, rebuilt)
	rep, err = app.Check(ctx, s)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings)
}
