package app_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// clock is a settable time shared by the store's change log and the
// reconciler.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

// reconciling is a system whose change log runs on clk, with a reconciler.
func reconciling(t *testing.T) (*system, *clock, *app.Reconciler) {
	t.Helper()
	s := newSystem(t)
	clk := &clock{at: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	s.store.Now = clk.Now
	svc := &app.Service{Store: s.store, Views: s.store, Publisher: s.log, Source: "/carrot/reconciler", Now: clk.Now}
	return s, clk, &app.Reconciler{Service: svc, Changes: s.store, ScoredBy: s.itemPolicy.Source, Settle: 30 * time.Second}
}

// run runs the reconciler a minute later, when what happened before has
// settled.
func run(t *testing.T, clk *clock, r *app.Reconciler) app.Reconciliation {
	t.Helper()
	clk.advance(time.Minute)
	out, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Empty(t, out.Skipped)
	return out
}

func steps(out app.Reconciliation) []string {
	var s []string
	for _, r := range out.Repairs {
		s = append(s, r.Step+" "+string(r.Fact))
	}
	return s
}

// TestReconcilerRepairsLostFacts loses the events of one step of each
// choreography (dropped, as a dead letter never re-driven is) and lets the
// reconciler bring the state in line: once, with the facts the policies
// would have emitted, and not again on a second run.
func TestReconcilerRepairsLostFacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		name string
		// lose runs commands whose events are lost, and returns the item.
		lose      func(s *system) (itemID, rsvID string)
		item, rsv string
		steps     []string
	}{
		{
			name: "payment approved, the reservation and the item never heard",
			lose: func(s *system) (string, string) {
				it, r := s.reserved()
				_, err := s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
				require.NoError(t, err)
				return it.ID(), r.ID()
			},
			item: "SOLDOUT", rsv: "COMPLETED",
			steps: []string{"reservation follows payment " + string(events.ReservationCompleted),
				"item follows reservation " + string(events.ItemSoldOut), "mypage follows sources "},
		},
		{
			name: "payment cancelled, the reservation stayed COMPLETED and the item SOLDOUT",
			lose: func(s *system) (string, string) {
				it, r, p := s.paid()
				_, err := s.cmd.CancelPayment(ctx, buyer, p.ID(), "", "")
				require.NoError(t, err)
				return it.ID(), r.ID()
			},
			item: "RESERVED", rsv: "CONFIRMED",
			steps: []string{"reservation follows payment " + string(events.ReservationReopened),
				"item follows reservation " + string(events.ItemReserved), "mypage follows sources "},
		},
		{
			name: "reservation deleted, the item stayed RESERVED",
			lose: func(s *system) (string, string) {
				it, r := s.reserved()
				require.NoError(t, s.cmd.DeleteReservation(ctx, buyer, r.ID()))
				return it.ID(), ""
			},
			item:  "CREATED",
			steps: []string{"item follows reservation " + string(events.ItemReleased), "mypage follows sources "},
		},
		{
			name: "item SOLDOUT while its reservation is CONFIRMED (written so directly)",
			lose: func(s *system) (string, string) {
				it, r := s.reserved()
				_, err := s.store.Update(ctx, func(tx app.Tx) error {
					it, err := tx.Item(it.ID())
					if err != nil {
						return err
					}
					holder := market.RestoreReservation(func() market.ReservationState {
						st := s.rsvNow(r.ID()).State()
						st.Status = market.RsvCompleted
						return st
					}())
					if _, err := it.Follow(r.ID(), holder, time.Now()); err != nil {
						return err
					}
					tx.SaveItem(it)
					return nil
				})
				require.NoError(t, err)
				require.Equal(t, market.ItemSoldOut, s.itemNow(it.ID()).Status())
				return it.ID(), r.ID()
			},
			// MyPage never saw the item sold: it is in line already.
			item: "RESERVED", rsv: "CONFIRMED",
			steps: []string{"item follows reservation " + string(events.ItemReserved)},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, clk, rec := reconciling(t)
			itemID, rsvID := c.lose(s)
			s.log.Take() // lost

			out := run(t, clk, rec)
			assert.Equal(t, c.steps, steps(out))
			assert.Equal(t, c.item, string(s.itemNow(itemID).Status()))
			row, err := s.store.Row(ctx, itemID)
			require.NoError(t, err)
			assert.Equal(t, c.item, row.ItemStatus, "MyPage follows")
			if rsvID != "" {
				assert.Equal(t, c.rsv, string(s.rsvNow(rsvID).Status()))
				assert.Equal(t, c.rsv, row.RsvStatus)
			}
			emitted := s.log.Take()
			facts := 0
			for _, st := range c.steps {
				if !strings.HasPrefix(st, "mypage") {
					facts++
				}
			}
			assert.Len(t, emitted, facts, "one fact per repair of a policy's step")
			for _, e := range emitted {
				assert.Equal(t, "/carrot/reconciler", e.Source())
			}

			assert.Empty(t, run(t, clk, rec).Repairs, "the next run repairs nothing")
			again := *rec
			again.Name = "again"
			clk.advance(-time.Minute)
			assert.Empty(t, run(t, clk, &again).Repairs, "a run over the same window repairs nothing")
			s.deliver() // the facts emitted change nothing more
			assert.Equal(t, c.item, string(s.itemNow(itemID).Status()))
		})
	}
}

// TestReconcilerCountsALostReviewOnce: a review whose review.written was
// lost is counted by the reconciler; the event, re-driven later, counts
// nothing, as the two share the item policy's fact record.
func TestReconcilerCountsALostReviewOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, rec := reconciling(t)
	it, r, _ := s.paid()
	_, err := s.cmd.WriteReview(ctx, buyer, r.ID(), 4, "")
	require.NoError(t, err)
	lost := s.log.Take()
	require.Len(t, lost, 1)

	out := run(t, clk, rec)
	assert.Equal(t, []string{"review counted " + string(events.ItemScored), "mypage follows sources "}, steps(out))
	assert.Equal(t, 1, s.itemNow(it.ID()).ReviewCount())
	assert.Empty(t, run(t, clk, rec).Repairs)

	err = s.itemPolicy.ScoreItem(ctx, lost[0])
	assert.True(t, err == nil || err == app.ErrDuplicate, "the re-driven event is a duplicate: %v", err)
	assert.Equal(t, 1, s.itemNow(it.ID()).ReviewCount(), "counted once")
	assert.EqualValues(t, 4, s.itemNow(it.ID()).Score())
}

// TestReconcilerReadsOnlyWhatChanged: a run reads the items of the change
// log's window, not the catalogue.
func TestReconcilerReadsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, rec := reconciling(t)
	var old []string
	for range 20 {
		old = append(old, s.item(seller).ID())
	}
	s.deliver()
	first := run(t, clk, rec)
	assert.Equal(t, 20, first.Items)
	loads := map[string]int{}
	for _, id := range old {
		loads[id] = s.store.ItemLoads(id)
	}

	clk.advance(5 * time.Minute)
	it, r := s.reserved()
	_, err := s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
	require.NoError(t, err)
	s.log.Take()

	out := run(t, clk, rec)
	assert.Equal(t, 1, out.Items, "one item changed")
	assert.Equal(t, first.Until, out.Since, "the run starts where the last stopped")
	assert.Equal(t, app.ChangeBucketOf(clk.Now().Add(-rec.Settle)), out.Until)
	assert.Equal(t, "SOLDOUT", string(s.itemNow(it.ID()).Status()))
	for _, id := range old {
		assert.Equal(t, loads[id], s.store.ItemLoads(id), "item %s did not change and was not read", id)
	}
}

// TestReconcilerStaysBehindThePolicies: what changed within the settle
// delay waits for a later run.
func TestReconcilerStaysBehindThePolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, rec := reconciling(t)
	it, r := s.reserved()
	_, err := s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
	require.NoError(t, err)
	s.log.Take()

	clk.advance(10 * time.Second)
	out, err := rec.Run(ctx)
	require.NoError(t, err)
	assert.Empty(t, out.Repairs, "the policies may still be at work")
	assert.Equal(t, "RESERVED", string(s.itemNow(it.ID()).Status()))
	assert.NotEmpty(t, run(t, clk, rec).Repairs)
	assert.Equal(t, "SOLDOUT", string(s.itemNow(it.ID()).Status()))
}
