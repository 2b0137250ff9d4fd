package apptest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// stateOf returns the stored form of a loaded aggregate.
func stateOf[S any, A interface{ State() S }](a A, err error) (S, error) {
	if err != nil {
		var zero S
		return zero, err
	}
	return a.State(), nil
}

// roundTrip saves in one unit of work, expects the version save returns,
// and expects every load (through a unit of work and through the Store)
// to return want.
func roundTrip[S any](t *testing.T, s Stores, save func(app.Tx) int64, want S, version int64, loads ...func(app.Tx) (S, error)) {
	t.Helper()
	var got int64
	mustWrite(t, s, func(tx app.Tx) { got = save(tx) })
	assert.Equal(t, version, got, "the version save returns")
	mustRead(t, s, func(tx app.Tx) error {
		for i, load := range loads {
			v, err := load(tx)
			if assert.NoError(t, err, "load %d", i) {
				assert.Equal(t, want, v, "load %d", i)
			}
		}
		return nil
	})
}

// testAggregate saves a fresh aggregate, changes it and saves it again,
// and checks that both loads (through a unit of work and through the
// Store) return what was saved, at versions 1 and 2.
func testAggregate[S any, A interface{ State() S }](t *testing.T, s Stores, fresh A, id string,
	restore func(S) A, withVersion func(S, int64) S, save func(app.Tx, A) int64,
	load func(app.Tx, string) (A, error), get func(context.Context, string) (A, error), change func(A)) {
	t.Helper()
	loads := []func(app.Tx) (S, error){
		func(tx app.Tx) (S, error) { return stateOf(load(tx, id)) },
		func(app.Tx) (S, error) { return stateOf(get(ctx, id)) },
	}
	a := fresh
	for version := int64(1); ; version++ {
		want := withVersion(a.State(), version)
		saved := a
		roundTrip(t, s, func(tx app.Tx) int64 { return save(tx, saved) }, want, version, loads...)
		if version == 2 {
			return
		}
		a = restore(want)
		change(a)
	}
}

func testRoundTrips(t *testing.T, s Stores) {
	t.Run("item", func(t *testing.T) {
		t.Parallel()
		it := newItem(uid(), "seller-1", market.ItemDetails{Name: "자전거 Bike", Category: "sports", Price: 15000,
			Description: "a red bike", Region: "seoul/mapo", Photos: []string{"https://img.example/1.jpg"}})
		testAggregate(t, s, it, it.ID(), market.RestoreItem,
			func(st market.ItemState, v int64) market.ItemState { st.Version = v; return st },
			app.Tx.SaveItem, app.Tx.Item, s.Store.Item,
			func(it *market.Item) {
				r := newReservation("rsv-1", it.ID())
				require.NoError(t, r.Confirm("seller", market.Meeting{Date: Day(30), Time: "18:30"}, now()))
				require.NoError(t, it.Reserve(r, now()))
				it.AddReview(4, now())
			})
	})

	t.Run("reservation", func(t *testing.T) {
		t.Parallel()
		r := newReservation(uid(), "item-1")
		testAggregate(t, s, r, r.ID(), market.RestoreReservation,
			func(st market.ReservationState, v int64) market.ReservationState { st.Version = v; return st },
			app.Tx.SaveReservation, app.Tx.Reservation, s.Store.Reservation,
			func(r *market.Reservation) {
				require.NoError(t, r.Confirm("seller", market.Meeting{Date: Day(30), Time: "18:30", Place: "Hapjeong station"}, now()))
				_, err := r.Complete("pay-1", now())
				require.NoError(t, err)
			})
	})

	t.Run("payment", func(t *testing.T) {
		t.Parallel()
		p := newPayment(uid(), "rsv-1")
		testAggregate(t, s, p, p.ID(), market.RestorePayment,
			func(st market.PaymentState, v int64) market.PaymentState { st.Version = v; return st },
			app.Tx.SavePayment, app.Tx.Payment, s.Store.Payment,
			func(p *market.Payment) {
				cancelled, err := p.Cancel("buyer", now())
				require.NoError(t, err)
				require.True(t, cancelled)
			})
	})

	t.Run("seller", func(t *testing.T) {
		t.Parallel()
		id := uid()
		load := func(tx app.Tx) (market.Seller, error) {
			sl, err := tx.Seller(id)
			if err != nil {
				return market.Seller{}, err
			}
			return *sl, nil
		}
		query := func(app.Tx) (market.Seller, error) { // outside the unit of work
			sl, err := s.Store.Seller(ctx, id)
			if err != nil {
				return market.Seller{}, err
			}
			return *sl, nil
		}
		sl := market.Seller{ID: id}
		for i, score := range []int{5, 2} {
			sl.AddReview(score)
			saved := sl
			sl.Version = int64(i + 1)
			roundTrip(t, s, func(tx app.Tx) int64 { return tx.SaveSeller(&saved) }, sl, sl.Version, load, query)
		}
		assert.Equal(t, market.Seller{ID: id, ScoreSum: 7, ReviewCount: 2, Scores: [market.MaxScore]int{0, 1, 0, 0, 1}, Version: 2}, sl)
	})

	t.Run("messages in posting order", func(t *testing.T) {
		t.Parallel()
		r := newReservation(uid(), "item-1")
		var sent []market.Message
		for i, text := range []string{"hello", "is it still for sale?", "yes", "안녕하세요"} {
			by := []string{"buyer", "seller"}[i%2]
			m, err := r.PostMessage(uid(), by, text, now())
			require.NoError(t, err)
			sent = append(sent, m)
		}
		// Stored out of order: the ids, not the commits, order the chat.
		for _, i := range []int{2, 0, 3, 1} {
			mustWrite(t, s, func(tx app.Tx) { tx.AddMessage(sent[i]) })
		}
		got, next, err := s.Store.Messages(ctx, r.ID(), app.Page{})
		require.NoError(t, err)
		assert.Empty(t, next)
		assert.Equal(t, sent, got)

		_, _, err = update(s, func(tx app.Tx, _ int) error { tx.AddMessage(sent[0]); return nil })
		assert.ErrorIs(t, err, app.ErrStale, "a message is added once")
	})

	t.Run("review once per reservation", func(t *testing.T) {
		t.Parallel()
		rv := newReview(uid())
		mustWrite(t, s, func(tx app.Tx) { tx.AddReview(rv) })
		got, err := s.Review(ctx, rv.RsvID)
		require.NoError(t, err)
		assert.Equal(t, rv, got)
		mustRead(t, s, func(tx app.Tx) error {
			reviewed, err := tx.Reviewed(rv.RsvID)
			assert.True(t, reviewed)
			require.NoError(t, err)
			read, err := tx.Review(rv.RsvID)
			assert.Equal(t, rv, read, "a unit of work reads the review as stored")
			return err
		})

		second := newReview(rv.RsvID)
		_, _, err = update(s, func(tx app.Tx, _ int) error { tx.AddReview(second); return nil })
		assert.ErrorIs(t, err, app.ErrStale)
		got, err = s.Review(ctx, rv.RsvID)
		require.NoError(t, err)
		assert.Equal(t, rv, got, "the first review stays")
	})

	t.Run("page row", func(t *testing.T) {
		t.Parallel()
		row := app.PageRow{ItemID: uid(), ItemName: "bike", ItemStatus: "RESERVED", Price: 15000, SellerID: "seller",
			Score: 4.5, ReviewCount: 2, RsvID: "rsv-1", RsvStatus: "CONFIRMED", BuyerID: "buyer", RsvDate: Day(30),
			RsvTime: "18:30", RsvPlace: "Hapjeong", PayID: "pay-1", PayStatus: "APPROVED", OpenChats: 3, UpdatedAt: now()}
		for version := int64(1); version <= 2; version++ {
			saved := row
			mustWriteView(t, s, func(tx app.ViewTx) { tx.SaveRow(&saved) })
			row.Version = version
			got, err := s.Views.Row(ctx, row.ItemID)
			require.NoError(t, err)
			assert.Equal(t, &row, got)
			_, err = updateView(s, func(tx app.ViewTx, _ int) error {
				got, err := tx.Row(row.ItemID)
				assert.Equal(t, &row, got)
				return err
			})
			require.NoError(t, err)
			row.OpenChats, row.RsvID, row.RsvStatus = 0, "", ""
		}
	})

	t.Run("page deal", func(t *testing.T) {
		t.Parallel()
		itemID := uid()
		d := app.PageDeal{RsvID: uid(), ItemID: itemID, BuyerID: "buyer-" + itemID, SellerID: "seller", ItemName: "bike",
			ItemStatus: "SOLDOUT", Price: 15000, RsvStatus: "COMPLETED", RsvDate: Day(30), RsvTime: "18:30",
			RsvPlace: "Hapjeong", PayID: "pay-1", PayStatus: "APPROVED", UpdatedAt: now()}
		for version := int64(1); version <= 2; version++ {
			saved := d
			mustWriteView(t, s, func(tx app.ViewTx) { tx.SaveDeal(&saved) })
			d.Version = version
			_, err := updateView(s, func(tx app.ViewTx, _ int) error {
				got, err := tx.Deals(itemID)
				assert.Equal(t, []app.PageDeal{d}, got)
				return err
			})
			require.NoError(t, err)
			got, _, err := s.Views.DealsByBuyer(ctx, d.BuyerID, app.Page{})
			require.NoError(t, err)
			assert.Equal(t, []app.PageDeal{d}, got)
			d.RsvStatus, d.PayID, d.PayStatus = "CONFIRMED", "", ""
		}
	})
}

func testMissing(t *testing.T, s Stores) {
	loads := map[string]func(tx app.Tx) error{
		"item":                  func(app.Tx) error { _, err := s.Store.Item(ctx, "nope"); return err },
		"item in a unit":        func(tx app.Tx) error { _, err := tx.Item("nope"); return err },
		"reservation":           func(app.Tx) error { _, err := s.Store.Reservation(ctx, "nope"); return err },
		"reservation in a unit": func(tx app.Tx) error { _, err := tx.Reservation("nope"); return err },
		"payment":               func(app.Tx) error { _, err := s.Store.Payment(ctx, "nope"); return err },
		"payment in a unit":     func(tx app.Tx) error { _, err := tx.Payment("nope"); return err },
		"review":                func(app.Tx) error { _, err := s.Review(ctx, "nope"); return err },
		"page row":              func(app.Tx) error { _, err := s.Views.Row(ctx, "nope"); return err },
	}
	for name, load := range loads {
		t.Run(name+" is NotFound", func(t *testing.T) {
			t.Parallel()
			_, _, err := update(s, func(tx app.Tx, _ int) error { return load(tx) })
			if assertCode(t, market.NotFound, err) {
				assert.Contains(t, err.Error(), "nope")
			}
		})
	}

	t.Run("zero values", func(t *testing.T) {
		t.Parallel()
		mustRead(t, s, func(tx app.Tx) error {
			sl, err := tx.Seller("nope")
			require.NoError(t, err)
			assert.Equal(t, &market.Seller{ID: "nope"}, sl, "a seller without reviews is a zero record")
			sl, err = s.Store.Seller(ctx, "nope")
			require.NoError(t, err)
			assert.Equal(t, &market.Seller{ID: "nope"}, sl, "outside a unit of work too")
			reviewed, err := tx.Reviewed("nope")
			require.NoError(t, err)
			assert.False(t, reviewed)
			_, err = tx.Review("nope")
			assertCode(t, market.NotFound, err)
			chat, err := tx.OpenChat("nope", "nobody")
			require.NoError(t, err)
			assert.Empty(t, chat)
			payID, err := tx.ApprovedPayment("nope")
			require.NoError(t, err)
			assert.Empty(t, payID)
			return nil
		})
		_, err := updateView(s, func(tx app.ViewTx, _ int) error {
			row, err := tx.Row("nope")
			require.NoError(t, err)
			assert.Nil(t, row)
			deals, err := tx.Deals("nope")
			require.NoError(t, err)
			assert.Empty(t, deals)
			return nil
		})
		require.NoError(t, err)
	})
}
