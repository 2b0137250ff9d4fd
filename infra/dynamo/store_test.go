package dynamo_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
)

// The contract tests run against DynamoDB Local (make test starts it).
// Each test gets tables of its own, so they run in parallel.

func TestAggregatesRoundTrip(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()

	t.Run("item", func(t *testing.T) {
		t.Parallel()
		it := newItem(uid(), "seller-1", market.ItemDetails{Name: "자전거 Bike", Category: "sports", Price: 15000,
			Description: "a red bike", Region: "seoul/mapo", Photos: []string{"https://img.example/1.jpg"}})
		mustCommit(t, s, app.SaveItem{Item: it})
		got, err := s.Item(ctx, it.ID())
		require.NoError(t, err)
		want := it.State()
		want.Version = 1
		assert.Equal(t, want, got.State())

		require.NoError(t, got.Reserve("rsv-1", now()))
		got.AddReview(4, now())
		mustCommit(t, s, app.SaveItem{Item: got})
		again, err := s.Item(ctx, it.ID())
		require.NoError(t, err)
		want = got.State()
		want.Version = 2
		assert.Equal(t, want, again.State())
		assert.Equal(t, 4.0, again.Score())
	})

	t.Run("reservation", func(t *testing.T) {
		t.Parallel()
		r := newReservation(uid(), "item-1", "buyer", "seller")
		mustCommit(t, s, app.SaveReservation{Reservation: r})
		got, err := s.Reservation(ctx, r.ID())
		require.NoError(t, err)
		want := r.State()
		want.Version = 1
		assert.Equal(t, want, got.State())

		require.NoError(t, got.Confirm("seller", market.Meeting{Date: "2026-12-24", Time: "18:30", Place: "Hapjeong station"}, now()))
		_, err = got.Complete("pay-1", now())
		require.NoError(t, err)
		mustCommit(t, s, app.SaveReservation{Reservation: got})
		again, err := s.Reservation(ctx, r.ID())
		require.NoError(t, err)
		want = got.State()
		want.Version = 2
		assert.Equal(t, want, again.State())
	})

	t.Run("payment", func(t *testing.T) {
		t.Parallel()
		p := newPayment(uid(), "rsv-1", "item-1")
		mustCommit(t, s, app.SavePayment{Payment: p})
		got, err := s.Payment(ctx, p.ID())
		require.NoError(t, err)
		want := p.State()
		want.Version = 1
		assert.Equal(t, want, got.State())
		assert.True(t, got.CancelledAt().IsZero())

		changed, err := got.Cancel("buyer", now())
		require.NoError(t, err)
		require.True(t, changed)
		mustCommit(t, s, app.SavePayment{Payment: got})
		again, err := s.Payment(ctx, p.ID())
		require.NoError(t, err)
		want = got.State()
		want.Version = 2
		assert.Equal(t, want, again.State())
	})

	t.Run("messages in posting order", func(t *testing.T) {
		t.Parallel()
		r := newReservation(uid(), "item-1", "buyer", "seller")
		var sent []market.Message
		for i, text := range []string{"hello", "is it still for sale?", "yes", "안녕하세요"} {
			by := "buyer"
			if i%2 == 1 {
				by = "seller"
			}
			m, err := r.PostMessage(uid(), by, text, now())
			require.NoError(t, err)
			sent = append(sent, m)
		}
		// Commit out of order: the sort key, not the write order, decides.
		for _, i := range []int{2, 0, 3, 1} {
			mustCommit(t, s, app.SaveMessage{Message: sent[i]})
		}
		got, next, err := s.Messages(ctx, r.ID(), app.Page{})
		require.NoError(t, err)
		assert.Empty(t, next)
		assert.Equal(t, sent, got)

		err = s.Commit(ctx, app.SaveMessage{Message: sent[0], Conflict: errMine})
		assert.ErrorIs(t, err, errMine, "a message is created once")

		empty, next, err := s.Messages(ctx, "no-such-rsv", app.Page{})
		require.NoError(t, err)
		assert.Empty(t, empty)
		assert.Empty(t, next)
	})

	t.Run("review once per reservation", func(t *testing.T) {
		t.Parallel()
		rv := market.Review{ID: uid(), RsvID: uid(), ItemID: "item-1", ReviewerID: "buyer", SellerID: "seller",
			Score: 5, Comment: "친절해요", CreatedAt: now()}
		mustCommit(t, s, app.SaveReview{Review: rv})
		got, err := s.Review(ctx, rv.RsvID)
		require.NoError(t, err)
		assert.Equal(t, rv, got)

		second := rv
		second.ID = uid()
		err = s.Commit(ctx, app.SaveReview{Review: second, Conflict: errMine})
		assert.ErrorIs(t, err, errMine)
	})

	t.Run("seller", func(t *testing.T) {
		t.Parallel()
		id := uid()
		sl, err := s.Seller(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, &market.Seller{ID: id}, sl, "a seller without reviews is a zero record")

		sl.AddReview(5)
		mustCommit(t, s, app.SaveSeller{Seller: sl})
		got, err := s.Seller(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, &market.Seller{ID: id, ScoreSum: 5, ReviewCount: 1, Version: 1}, got)

		got.AddReview(2)
		mustCommit(t, s, app.SaveSeller{Seller: got})
		again, err := s.Seller(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, &market.Seller{ID: id, ScoreSum: 7, ReviewCount: 2, Version: 2}, again)
		assert.Equal(t, 3.5, again.Score())
	})

	t.Run("page row", func(t *testing.T) {
		t.Parallel()
		row := &app.PageRow{ItemID: uid(), ItemName: "bike", ItemStatus: "RESERVED", Price: 15000, SellerID: "seller",
			Score: 4.5, ReviewCount: 2, RsvID: "rsv-1", RsvStatus: "CONFIRMED", BuyerID: "buyer", RsvDate: "2026-12-24",
			RsvTime: "18:30", RsvPlace: "Hapjeong", PayID: "pay-1", PayStatus: "APPROVED", OpenChats: 3, UpdatedAt: now()}
		mustCommit(t, s, app.SaveRow{Row: row})
		got, err := s.Row(ctx, row.ItemID)
		require.NoError(t, err)
		want := *row
		want.Version = 1
		assert.Equal(t, &want, got)

		got.OpenChats = 0
		mustCommit(t, s, app.SaveRow{Row: got})
		again, err := s.Row(ctx, row.ItemID)
		require.NoError(t, err)
		assert.Equal(t, int64(2), again.Version)
		assert.Equal(t, 0, again.OpenChats)
	})

	t.Run("page deal", func(t *testing.T) {
		t.Parallel()
		itemID := uid()
		d := &app.PageDeal{RsvID: uid(), ItemID: itemID, BuyerID: "buyer-" + itemID, SellerID: "seller", ItemName: "bike",
			ItemStatus: "SOLDOUT", Price: 15000, RsvStatus: "COMPLETED", RsvDate: "2026-12-24", RsvTime: "18:30",
			RsvPlace: "Hapjeong", PayID: "pay-1", PayStatus: "APPROVED", UpdatedAt: now()}
		mustCommit(t, s, app.SaveDeal{Deal: d})
		got, err := s.Deals(ctx, itemID)
		require.NoError(t, err)
		want := *d
		want.Version = 1
		assert.Equal(t, []app.PageDeal{want}, got)
	})
}

func TestMissingRows(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()
	for name, load := range map[string]func() error{
		"item":        func() error { _, err := s.Item(ctx, "nope"); return err },
		"reservation": func() error { _, err := s.Reservation(ctx, "nope"); return err },
		"payment":     func() error { _, err := s.Payment(ctx, "nope"); return err },
		"review":      func() error { _, err := s.Review(ctx, "nope"); return err },
		"row":         func() error { _, err := s.Row(ctx, "nope"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := load()
			requireCode(t, market.NotFound, err)
			assert.Contains(t, err.Error(), "nope")
		})
	}
	t.Run("deals", func(t *testing.T) {
		deals, err := s.Deals(ctx, "nope")
		require.NoError(t, err)
		assert.Empty(t, deals)
	})
	t.Run("claim", func(t *testing.T) {
		owner, err := s.Claimed(ctx, "nope")
		require.NoError(t, err)
		assert.Empty(t, owner)
	})
}

// versioned is one kind of versioned write: create stores a fresh row,
// change loads it and returns an op that writes it changed.
type versioned struct {
	name   string
	create func(id string) app.Op
	change func(t *testing.T, s *dynamo.Store, id string, conflict error) []app.Op
}

func versionedKinds() []versioned {
	ctx := context.Background()
	return []versioned{
		{"save item",
			func(id string) app.Op { return app.SaveItem{Item: newItem(id, "seller", market.ItemDetails{})} },
			func(t *testing.T, s *dynamo.Store, id string, c error) []app.Op {
				it, err := s.Item(ctx, id)
				require.NoError(t, err)
				it.AddReview(3, now())
				return []app.Op{app.SaveItem{Item: it, Conflict: c}}
			}},
		{"delete item",
			func(id string) app.Op { return app.SaveItem{Item: newItem(id, "seller", market.ItemDetails{})} },
			func(t *testing.T, s *dynamo.Store, id string, c error) []app.Op {
				it, err := s.Item(ctx, id)
				require.NoError(t, err)
				return []app.Op{app.DeleteItem{Item: it, Conflict: c}}
			}},
		{"save reservation",
			func(id string) app.Op {
				return app.SaveReservation{Reservation: newReservation(id, "item", "buyer", "seller")}
			},
			func(t *testing.T, s *dynamo.Store, id string, c error) []app.Op {
				r, err := s.Reservation(ctx, id)
				require.NoError(t, err)
				require.NoError(t, r.Confirm("seller", market.Meeting{Date: "2026-12-24", Time: "10:00"}, now()))
				return []app.Op{app.SaveReservation{Reservation: r, Conflict: c}}
			}},
		{"delete reservation",
			func(id string) app.Op {
				return app.SaveReservation{Reservation: newReservation(id, "item", "buyer", "seller")}
			},
			func(t *testing.T, s *dynamo.Store, id string, c error) []app.Op {
				r, err := s.Reservation(ctx, id)
				require.NoError(t, err)
				return []app.Op{app.DeleteReservation{Reservation: r, Conflict: c}}
			}},
		{"save payment",
			func(id string) app.Op { return app.SavePayment{Payment: newPayment(id, "rsv", "item")} },
			func(t *testing.T, s *dynamo.Store, id string, c error) []app.Op {
				p, err := s.Payment(ctx, id)
				require.NoError(t, err)
				_, err = p.Cancel("buyer", now())
				require.NoError(t, err)
				return []app.Op{app.SavePayment{Payment: p, Conflict: c}}
			}},
		{"save seller",
			func(id string) app.Op {
				return app.SaveSeller{Seller: &market.Seller{ID: id, ScoreSum: 4, ReviewCount: 1}}
			},
			func(t *testing.T, s *dynamo.Store, id string, c error) []app.Op {
				sl, err := s.Seller(ctx, id)
				require.NoError(t, err)
				sl.AddReview(5)
				return []app.Op{app.SaveSeller{Seller: sl, Conflict: c}}
			}},
		{"save row",
			func(id string) app.Op { return app.SaveRow{Row: &app.PageRow{ItemID: id, SellerID: "seller"}} },
			func(t *testing.T, s *dynamo.Store, id string, c error) []app.Op {
				row, err := s.Row(ctx, id)
				require.NoError(t, err)
				row.OpenChats++
				return []app.Op{app.SaveRow{Row: row, Conflict: c}}
			}},
		{"delete row",
			func(id string) app.Op { return app.SaveRow{Row: &app.PageRow{ItemID: id, SellerID: "seller"}} },
			func(t *testing.T, s *dynamo.Store, id string, c error) []app.Op {
				row, err := s.Row(ctx, id)
				require.NoError(t, err)
				return []app.Op{app.DeleteRow{Row: row, Conflict: c}}
			}},
		{"save deal",
			func(id string) app.Op {
				return app.SaveDeal{Deal: &app.PageDeal{ItemID: id, RsvID: "rsv", BuyerID: "buyer"}}
			},
			func(t *testing.T, s *dynamo.Store, id string, c error) []app.Op {
				deals, err := s.Deals(ctx, id)
				require.NoError(t, err)
				require.Len(t, deals, 1)
				deals[0].RsvStatus = "CONFIRMED"
				return []app.Op{app.SaveDeal{Deal: &deals[0], Conflict: c}}
			}},
		{"delete deal",
			func(id string) app.Op {
				return app.SaveDeal{Deal: &app.PageDeal{ItemID: id, RsvID: "rsv", BuyerID: "buyer"}}
			},
			func(t *testing.T, s *dynamo.Store, id string, c error) []app.Op {
				deals, err := s.Deals(ctx, id)
				require.NoError(t, err)
				require.Len(t, deals, 1)
				return []app.Op{app.DeleteDeal{Deal: &deals[0], Conflict: c}}
			}},
	}
}

func commitOps(s *dynamo.Store, ops []app.Op) error {
	return s.Commit(context.Background(), ops...)
}

func TestOptimisticLocking(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	for _, k := range versionedKinds() {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			id := uid()
			mustCommit(t, s, k.create(id))

			// Three writers load the same version; the first wins.
			winner := k.change(t, s, id, errMine)
			withOwn := k.change(t, s, id, errMine)
			withNone := k.change(t, s, id, nil)
			require.NoError(t, commitOps(s, winner))
			assert.ErrorIs(t, commitOps(s, withOwn), errMine, "the op's own Conflict is returned")
			assert.ErrorIs(t, commitOps(s, withNone), app.ErrStale, "an op without Conflict is stale")

			// Creating what exists is a conflict too; what was deleted
			// may be created again.
			err := s.Commit(context.Background(), k.create(id))
			if strings.HasPrefix(k.name, "delete") {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, app.ErrStale)
			}
		})
	}
}

func TestCommitIsAllOrNothing(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()

	taken := "chat|" + uid()
	mustCommit(t, s, app.Claim{Key: taken, Owner: "someone"})

	it := newItem(uid(), "seller", market.ItemDetails{})
	r := newReservation(uid(), it.ID(), "buyer", "seller")
	err := s.Commit(ctx,
		app.SaveItem{Item: it},
		app.SaveReservation{Reservation: r},
		app.Publish{Event: itemEvent(t, ctx, "carrot.item.registered.v1", it.ID())},
		app.MarkHandled{Key: "consumer|/src|" + uid()},
		app.Claim{Key: taken, Owner: "me", Conflict: errMine},
	)
	require.ErrorIs(t, err, errMine)

	_, err = s.Item(ctx, it.ID())
	requireCode(t, market.NotFound, err)
	_, err = s.Reservation(ctx, r.ID())
	requireCode(t, market.NotFound, err)
	pending, err := s.PendingEvents(ctx, 0)
	require.NoError(t, err)
	assert.Empty(t, pending, "no event of a failed commit reaches the outbox")
	owner, err := s.Claimed(ctx, taken)
	require.NoError(t, err)
	assert.Equal(t, "someone", owner)

	// The same writes without the failing claim all land together.
	mustCommit(t, s, app.SaveItem{Item: it}, app.SaveReservation{Reservation: r},
		app.Publish{Event: itemEvent(t, ctx, "carrot.item.registered.v1", it.ID())})
	_, err = s.Item(ctx, it.ID())
	require.NoError(t, err)
	pending, err = s.PendingEvents(ctx, 0)
	require.NoError(t, err)
	assert.Len(t, pending, 1)
}

func TestClaims(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()
	k := "chat|item|" + uid()

	mustCommit(t, s, app.RequireUnclaimed{Key: k}) // a free key passes
	mustCommit(t, s, app.Claim{Key: k, Owner: "rsv-1"})
	owner, err := s.Claimed(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, "rsv-1", owner)

	assert.ErrorIs(t, s.Commit(ctx, app.Claim{Key: k, Owner: "rsv-2", Conflict: errMine}), errMine)
	assert.ErrorIs(t, s.Commit(ctx, app.Claim{Key: k, Owner: "rsv-1"}), app.ErrStale, "even the owner cannot claim twice")
	assert.ErrorIs(t, s.Commit(ctx, app.RequireUnclaimed{Key: k, Conflict: errMine}), errMine)
	assert.ErrorIs(t, s.Commit(ctx, app.RequireUnclaimed{Key: k}), app.ErrStale)

	mustCommit(t, s, app.Unclaim{Key: k})
	mustCommit(t, s, app.Unclaim{Key: k}) // freeing a free key is fine
	owner, err = s.Claimed(ctx, k)
	require.NoError(t, err)
	assert.Empty(t, owner)
	mustCommit(t, s, app.RequireUnclaimed{Key: k})
	mustCommit(t, s, app.Claim{Key: k, Owner: "rsv-2"})
}

func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	k := "confirmed|item|" + uid()
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.Commit(context.Background(),
				app.SaveReservation{Reservation: newReservation(uid(), "item", "buyer", "seller")},
				app.Claim{Key: k, Owner: string(rune('a' + i)), Conflict: errMine})
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		// A loser fails its claim's condition, or collides with the
		// winner's transaction in flight; both are conflicts.
		if !errors.Is(err, errMine) {
			assert.ErrorIs(t, err, app.ErrStale)
		}
	}
	assert.Equal(t, 1, won, "errors: %v", errs)
}

func TestMarkHandled(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()
	k := "mypage|/carrot/items|" + uid()
	mustCommit(t, s, app.MarkHandled{Key: k})
	assert.ErrorIs(t, s.Commit(ctx, app.MarkHandled{Key: k}), app.ErrDuplicate)

	// A redelivery fails its version checks too; it is still a duplicate,
	// so the consumer acknowledges it instead of retrying.
	row := &app.PageRow{ItemID: uid()}
	mustCommit(t, s, app.SaveRow{Row: row})
	stale := &app.PageRow{ItemID: row.ItemID} // version 0: a create that collides
	err := s.Commit(ctx, app.SaveRow{Row: stale, Conflict: errMine}, app.MarkHandled{Key: k})
	assert.ErrorIs(t, err, app.ErrDuplicate)
}

func TestCommitLimits(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()
	require.NoError(t, s.Commit(ctx), "an empty commit does nothing")

	ops := make([]app.Op, 101)
	for i := range ops {
		ops[i] = app.Claim{Key: uid(), Owner: "x"}
	}
	requireCode(t, market.Internal, s.Commit(ctx, ops...))
	mustCommit(t, s, ops[:100]...)

	requireCode(t, market.Internal, s.Commit(ctx, app.SaveItem{}))
	k := uid()
	err := s.Commit(ctx, app.Claim{Key: k, Owner: "a"}, app.Unclaim{Key: k})
	requireCode(t, market.Internal, err) // two ops on one row
	assert.NotContains(t, err.Error(), "ValidationException", "no SDK text in the message")
}

func TestTablesAreIdempotent(t *testing.T) {
	t.Parallel()
	c := dynamotest.MustClient(t)
	prefix := dynamotest.MustTables(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, dynamo.CreateTables(ctx, c, prefix), "creating existing tables is a no-op")
	require.NoError(t, dynamo.CheckTables(ctx, c, prefix))

	// Every missing table is named.
	for _, name := range []string{dynamo.TableClaims, dynamo.TableMyPage} {
		_, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(prefix + name)})
		require.NoError(t, err)
	}
	err := dynamo.CheckTables(ctx, c, prefix)
	require.Error(t, err)
	assert.Contains(t, err.Error(), prefix+dynamo.TableClaims)
	assert.Contains(t, err.Error(), prefix+dynamo.TableMyPage)

	require.Error(t, dynamo.CheckTables(ctx, c, dynamotest.RandomPrefix()), "no tables at all")
}

func TestChecks(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()
	it := newItem(uid(), "seller", market.ItemDetails{})
	r := newReservation(uid(), it.ID(), "buyer", "seller")
	mustCommit(t, s, app.SaveItem{Item: it}, app.SaveReservation{Reservation: r})
	loadedItem, err := s.Item(ctx, it.ID())
	require.NoError(t, err)
	loadedRsv, err := s.Reservation(ctx, r.ID())
	require.NoError(t, err)

	k := uid()
	mustCommit(t, s, app.CheckItem{Item: loadedItem}, app.CheckReservation{Reservation: loadedRsv}, app.Claim{Key: k, Owner: "x"})
	owner, err := s.Claimed(ctx, k)
	require.NoError(t, err)
	require.Equal(t, "x", owner, "passing checks let the other writes land")

	// Someone changes both; checks of the old versions now fail.
	mustCommit(t, s, app.SaveItem{Item: loadedItem}, app.SaveReservation{Reservation: loadedRsv})
	k2 := uid()
	assert.ErrorIs(t, s.Commit(ctx, app.CheckItem{Item: loadedItem, Conflict: errMine}, app.Claim{Key: k2, Owner: "x"}), errMine)
	assert.ErrorIs(t, s.Commit(ctx, app.CheckReservation{Reservation: loadedRsv}, app.Claim{Key: k2, Owner: "x"}), app.ErrStale)
	owner, err = s.Claimed(ctx, k2)
	require.NoError(t, err)
	assert.Empty(t, owner)

	// A deleted aggregate fails its check as well.
	fresh, err := s.Item(ctx, it.ID())
	require.NoError(t, err)
	mustCommit(t, s, app.DeleteItem{Item: fresh})
	assert.ErrorIs(t, s.Commit(ctx, app.CheckItem{Item: fresh}), app.ErrStale)
}
