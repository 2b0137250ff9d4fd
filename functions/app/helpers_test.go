package app_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/app/apptest"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/memory"
)

const (
	seller = "u-seller"
	buyer  = "u-buyer"
	other  = "u-other"
)

var meeting = market.Meeting{Date: "2026-03-07", Time: "14:30", Place: "Mangwon station exit 2"}

// system is carrot on one in-memory store: a Service per function, as the
// functions run, and a broker that keeps every event published, which
// deliver hands to the consumers as the broker's triggers would.
type system struct {
	t     *testing.T
	store *memory.Store
	log   *apptest.Broker
	// Per function, as each has its own event source.
	cmd, reservationPolicy, itemPolicy, mypage *app.Service
}

func newSystem(t *testing.T) *system {
	t.Helper()
	store, log := memory.New(), &apptest.Broker{}
	var ids atomic.Int64
	clock := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	svc := func(source string) *app.Service {
		return &app.Service{Store: store, Views: store, Publisher: log, Source: "/carrot/" + source,
			Now:   func() time.Time { return clock.Add(time.Duration(ids.Load()) * time.Second) },
			NewID: func() string { return fmt.Sprintf("id-%06d", ids.Add(1)) }}
	}
	s := &system{t: t, store: store, log: log, cmd: svc("cmd"),
		reservationPolicy: svc("reservation-policy"), itemPolicy: svc("item-policy"), mypage: svc("mypage")}
	log.Subscribe(s.reservationPolicy, app.ReservationPolicy)
	log.Subscribe(s.itemPolicy, app.ItemPolicy)
	log.Subscribe(s.mypage, app.MyPageProjector)
	return s
}

// deliver hands every unread event to each consumer that takes it, as
// the triggers do, until no consumer publishes anything new.
func (s *system) deliver() {
	s.t.Helper()
	s.log.Deliver(s.t)
}

func (s *system) item(sellerID string) *market.Item {
	s.t.Helper()
	it, err := s.cmd.RegisterItem(context.Background(), sellerID, market.ItemDetails{Name: "armchair", Category: "furniture", Price: 25_000})
	require.NoError(s.t, err)
	return it
}

func (s *system) chat(buyerID, itemID string) *market.Reservation {
	s.t.Helper()
	r, created, err := s.cmd.RequestChat(context.Background(), buyerID, itemID, "")
	require.NoError(s.t, err)
	require.True(s.t, created)
	return r
}

func (s *system) confirmed(itemID string) *market.Reservation {
	s.t.Helper()
	r := s.chat(buyer, itemID)
	_, err := s.cmd.ConfirmReservation(context.Background(), seller, r.ID(), meeting)
	require.NoError(s.t, err)
	return r
}

// reserved is a deal of a new item through confirmation, with every policy
// run.
func (s *system) reserved() (*market.Item, *market.Reservation) {
	s.t.Helper()
	it := s.item(seller)
	r := s.confirmed(it.ID())
	s.deliver()
	return it, r
}

// paid is a deal of a new item through payment, with every policy run.
func (s *system) paid() (*market.Item, *market.Reservation, *market.Payment) {
	s.t.Helper()
	it := s.item(seller)
	r := s.confirmed(it.ID())
	p, err := s.cmd.Pay(context.Background(), buyer, r.ID(), "", nil)
	require.NoError(s.t, err)
	s.deliver()
	return it, r, p
}

// reviewed is a paid deal of a new item that its buyer reviewed with score,
// with every policy run.
func (s *system) reviewed(score int) (*market.Item, *market.Reservation) {
	s.t.Helper()
	it, r, _ := s.paid()
	_, err := s.cmd.WriteReview(context.Background(), buyer, r.ID(), score, "")
	require.NoError(s.t, err)
	s.deliver()
	return it, r
}

func (s *system) itemNow(id string) *market.Item {
	s.t.Helper()
	it, err := s.store.Item(context.Background(), id)
	require.NoError(s.t, err)
	return it
}

func (s *system) rsvNow(id string) *market.Reservation {
	s.t.Helper()
	r, err := s.store.Reservation(context.Background(), id)
	require.NoError(s.t, err)
	return r
}

func assertCode(t *testing.T, code market.Code, err error) {
	t.Helper()
	assert.Equal(t, code, market.ErrorCode(err), "error: %v", err)
}

// concurrently runs f n times at once and returns how many returned nil.
func concurrently(n int, f func(i int) error) (ok int) {
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		go func() {
			<-start
			errs <- f(i)
		}()
	}
	close(start)
	for range n {
		if <-errs == nil {
			ok++
		}
	}
	return ok
}
