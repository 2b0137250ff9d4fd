package apptest

import (
	"encoding/json"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// writes is one of every kind of write of both ports, under fresh ids.
type writes struct {
	item     *market.Item
	rsv      *market.Reservation
	pay      *market.Payment
	sellerID string
	msg      market.Message
	review   market.Review
	event    cloudevents.Event
	consumer string
	row      app.PageRow
	deal     app.PageDeal
}

func newWrites(t *testing.T) writes {
	t.Helper()
	it := newItem(uid(), "seller", market.ItemDetails{})
	r := newReservation(uid(), it.ID())
	m, err := r.PostMessage(uid(), "buyer", "hello", now())
	require.NoError(t, err)
	return writes{item: it, rsv: r, pay: newPayment(uid(), r.ID()), sellerID: uid(), msg: m, review: newReview(r.ID()),
		event: newEvent(t, it.ID()), consumer: "apptest-" + uid(),
		row:  app.PageRow{ItemID: uid(), SellerID: "seller", UpdatedAt: now()},
		deal: app.PageDeal{ItemID: uid(), RsvID: uid(), BuyerID: "buyer", UpdatedAt: now()}}
}

func (w writes) apply(tx app.Tx) {
	tx.SaveItem(w.item)
	tx.SaveReservation(w.rsv)
	tx.SavePayment(w.pay)
	tx.SaveSeller(&market.Seller{ID: w.sellerID, ScoreSum: 5, ReviewCount: 1})
	tx.AddMessage(w.msg)
	tx.AddReview(w.review)
	tx.SetOpenChat(w.item.ID(), "buyer", w.rsv.ID())
	tx.SetApprovedPayment(w.rsv.ID(), w.pay.ID())
	tx.Publish(w.event)
	tx.MarkHandled(w.consumer, w.event)
}

func (w writes) applyView(tx app.ViewTx) {
	row, deal := w.row, w.deal
	tx.SaveRow(&row)
	tx.SaveDeal(&deal)
	tx.MarkHandled(w.consumer+"-view", w.event)
}

// expect checks that all of w landed, or none of it. It marks w's event
// handled where it was not, so it is the last word on w.
func (w writes) expect(t *testing.T, s Stores, landed bool) {
	t.Helper()
	found := func(what string, err error) {
		t.Helper()
		if landed {
			assert.NoError(t, err, what)
		} else {
			assertCode(t, market.NotFound, err)
		}
	}
	_, err := s.Store.Item(ctx, w.item.ID())
	found("item", err)
	_, err = s.Store.Reservation(ctx, w.rsv.ID())
	found("reservation", err)
	_, err = s.Store.Payment(ctx, w.pay.ID())
	found("payment", err)
	_, err = s.Review(ctx, w.rsv.ID())
	found("review", err)
	_, err = s.Views.Row(ctx, w.row.ItemID)
	found("page row", err)

	msgs, _, err := s.Store.Messages(ctx, w.rsv.ID(), app.Page{})
	require.NoError(t, err)
	assert.Equal(t, landed, len(msgs) == 1, "message")
	assert.Equal(t, landed, len(outboxHas(t, s, w.event.ID())) == 1, "outbox")
	mustRead(t, s, func(tx app.Tx) error {
		sl, err := tx.Seller(w.sellerID)
		require.NoError(t, err)
		assert.Equal(t, landed, sl.Version == 1, "seller")
		chat, err := tx.OpenChat(w.item.ID(), "buyer")
		require.NoError(t, err)
		assert.Equal(t, landed, chat == w.rsv.ID(), "open chat")
		payID, err := tx.ApprovedPayment(w.rsv.ID())
		require.NoError(t, err)
		assert.Equal(t, landed, payID == w.pay.ID(), "approved payment")
		return nil
	})
	_, err = updateView(s, func(tx app.ViewTx, _ int) error {
		deals, err := tx.Deals(w.deal.ItemID)
		assert.Equal(t, landed, len(deals) == 1, "deal")
		return err
	})
	require.NoError(t, err)

	_, _, err = update(s, func(tx app.Tx, _ int) error { tx.MarkHandled(w.consumer, w.event); return nil })
	_, viewErr := updateView(s, func(tx app.ViewTx, _ int) error { tx.MarkHandled(w.consumer+"-view", w.event); return nil })
	if landed {
		assert.ErrorIs(t, err, app.ErrDuplicate, "handled")
		assert.ErrorIs(t, viewErr, app.ErrDuplicate, "handled in the view")
	} else {
		assert.NoError(t, err, "handled")
		assert.NoError(t, viewErr, "handled in the view")
	}
}

func testAllOrNothing(t *testing.T, s Stores) {
	t.Run("a change that fails writes nothing", func(t *testing.T) {
		t.Parallel()
		w := newWrites(t)
		evs, runs, err := update(s, func(tx app.Tx, _ int) error { w.apply(tx); return errMine })
		assert.ErrorIs(t, err, errMine, "the change's error as it is")
		assert.Empty(t, evs)
		assert.Equal(t, 1, runs)
		viewRuns, err := updateView(s, func(tx app.ViewTx, _ int) error { w.applyView(tx); return errMine })
		assert.ErrorIs(t, err, errMine)
		assert.Equal(t, 1, viewRuns)
		w.expect(t, s, false)
	})

	t.Run("a lost attempt writes nothing, the next all", func(t *testing.T) {
		t.Parallel()
		read := uid()
		itemKind.create(t, s, read)
		var attempts []writes
		evs, runs, err := update(s, func(tx app.Tx, attempt int) error {
			if _, err := tx.Item(read); err != nil {
				return err
			}
			w := newWrites(t)
			attempts = append(attempts, w)
			w.apply(tx)
			if attempt == 1 {
				itemKind.bump(t, s, read)
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, 2, runs)
		assert.Equal(t, []string{attempts[1].event.ID()}, eventIDs(evs), "the events of the attempt that committed")

		readRow := uid()
		rowKind.create(t, s, readRow)
		runs, err = updateView(s, func(tx app.ViewTx, attempt int) error {
			if _, err := tx.Row(readRow); err != nil {
				return err
			}
			attempts[attempt-1].applyView(tx)
			if attempt == 1 {
				rowKind.bump(t, s, readRow)
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, 2, runs)

		attempts[0].expect(t, s, false)
		attempts[1].expect(t, s, true)
	})
}

func testMarkHandled(t *testing.T, s Stores) {
	t.Run("store", func(t *testing.T) {
		t.Parallel()
		consumer, e := "apptest-"+uid(), newEvent(t, "item")
		first, second := uid(), uid()
		mustWrite(t, s, func(tx app.Tx) {
			tx.MarkHandled(consumer, e)
			tx.SaveItem(newItem(first, "seller", market.ItemDetails{}))
		})

		published := newEvent(t, second)
		evs, runs, err := update(s, func(tx app.Tx, _ int) error {
			tx.MarkHandled(consumer, e)
			tx.SaveItem(newItem(second, "seller", market.ItemDetails{}))
			tx.Publish(published)
			return nil
		})
		assert.ErrorIs(t, err, app.ErrDuplicate)
		assert.Equal(t, 1, runs, "a duplicate is not run again")
		assert.Empty(t, evs)
		_, err = s.Store.Item(ctx, second)
		assertCode(t, market.NotFound, err)
		assert.Empty(t, outboxHas(t, s, published.ID()))

		// A redelivery whose writes are stale too is still a duplicate,
		// so its consumer acknowledges it rather than retrying.
		_, runs, err = update(s, func(tx app.Tx, _ int) error {
			tx.MarkHandled(consumer, e)
			tx.SaveItem(newItem(first, "seller", market.ItemDetails{}))
			return nil
		})
		assert.ErrorIs(t, err, app.ErrDuplicate)
		assert.Equal(t, 1, runs)

		mustWrite(t, s, func(tx app.Tx) { tx.MarkHandled(consumer+"-other", e) })

		// A fact counts once, whatever event announced it.
		fact := "review|" + uid()
		mustWrite(t, s, func(tx app.Tx) { tx.MarkFact(consumer, fact) })
		_, runs, err = update(s, func(tx app.Tx, _ int) error {
			tx.MarkFact(consumer, fact)
			tx.SaveItem(newItem(uid(), "seller", market.ItemDetails{}))
			return nil
		})
		assert.ErrorIs(t, err, app.ErrDuplicate, "the same fact again is a duplicate")
		assert.Equal(t, 1, runs)
		mustWrite(t, s, func(tx app.Tx) { tx.MarkFact(consumer+"-other", fact) })
	})

	t.Run("view", func(t *testing.T) {
		t.Parallel()
		consumer, e := "apptest-"+uid(), newEvent(t, "item")
		first, second := uid(), uid()
		mustWriteView(t, s, func(tx app.ViewTx) {
			tx.MarkHandled(consumer, e)
			tx.SaveRow(&app.PageRow{ItemID: first, SellerID: "seller", UpdatedAt: now()})
		})
		runs, err := updateView(s, func(tx app.ViewTx, _ int) error {
			tx.MarkHandled(consumer, e)
			tx.SaveRow(&app.PageRow{ItemID: second, SellerID: "seller", UpdatedAt: now()})
			return nil
		})
		assert.ErrorIs(t, err, app.ErrDuplicate)
		assert.Equal(t, 1, runs)
		_, err = s.Views.Row(ctx, second)
		assertCode(t, market.NotFound, err)
	})
}

func testPublished(t *testing.T, s Stores) {
	var want []cloudevents.Event
	for _, n := range []int{3, 1, 2} {
		var published []cloudevents.Event
		for range n {
			published = append(published, newEvent(t, uid()))
		}
		got := mustWrite(t, s, func(tx app.Tx) {
			for _, e := range published {
				tx.Publish(e)
			}
		})
		assert.Equal(t, eventIDs(published), eventIDs(got), "Update returns the events in publishing order")
		want = append(want, published...)
	}
	assert.Equal(t, eventIDs(want), outboxHas(t, s, eventIDs(want)...), "the outbox holds them in commit order")

	// The outbox keeps each event as it was published, extensions and all.
	all, err := s.Outbox(ctx)
	require.NoError(t, err)
	byID := map[string]cloudevents.Event{}
	for _, e := range all {
		byID[e.ID()] = e
	}
	for _, e := range want {
		wantJSON, err := json.Marshal(e)
		require.NoError(t, err)
		gotJSON, err := json.Marshal(byID[e.ID()])
		require.NoError(t, err)
		assert.JSONEq(t, string(wantJSON), string(gotJSON))
	}
}
