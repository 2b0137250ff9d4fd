// Package memory keeps carrot's state in maps, for use-case tests that run
// in a blink without Java. It implements the same ports as the DynamoDB
// adapter (app.Store, app.ViewStore and idempotency.Store) with the same
// guarantees, and the same contract suites (apptest, idempotencytest) run
// against both.
package memory

import (
	"context"
	"encoding/base64"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/optimistic"
)

// Store is safe for concurrent use. Every unit of work commits atomically
// under one lock, with the conditions the DynamoDB adapter checks, so races
// are lost and retried as they are there.
type Store struct {
	mu           sync.Mutex
	items        map[string]market.ItemState
	reservations map[string]market.ReservationState
	payments     map[string]market.PaymentState
	sellers      map[string]market.Seller
	messages     map[string][]market.Message // by reservation, in posting order
	reviews      map[string]market.Review    // by reservation
	openChats    map[chatKey]string          // the open reservation per item and buyer
	approved     map[string]string           // the approved payment per reservation
	handled      map[string]bool
	rows         map[string]app.PageRow
	deals        map[string]map[string]app.PageDeal // by item, then reservation
	outbox       []cloudevents.Event
	idempotency  map[string]idempotencyRecord
	changes      map[string]app.Change // the change log, by bucket, kind and id
	checkpoints  map[string]time.Time
	itemLoads    map[string]int

	// Now stamps the change log (app.ChangeLog) at commit; nil is the
	// wall clock. Set it before the store is used.
	Now func() time.Time
}

type chatKey struct{ itemID, buyerID string }

var (
	_ app.Store     = (*Store)(nil)
	_ app.ViewStore = (*Store)(nil)
	_ app.ChangeLog = (*Store)(nil)
)

// New returns an empty store.
func New() *Store {
	return &Store{
		items: map[string]market.ItemState{}, reservations: map[string]market.ReservationState{},
		payments: map[string]market.PaymentState{}, sellers: map[string]market.Seller{},
		messages: map[string][]market.Message{}, reviews: map[string]market.Review{},
		openChats: map[chatKey]string{}, approved: map[string]string{}, handled: map[string]bool{},
		rows: map[string]app.PageRow{}, idempotency: map[string]idempotencyRecord{}, deals: map[string]map[string]app.PageDeal{},
		changes: map[string]app.Change{}, checkpoints: map[string]time.Time{}, itemLoads: map[string]int{},
	}
}

// Outbox returns the events committed and not yet taken by TakeOutbox.
func (s *Store) Outbox() []cloudevents.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.outbox)
}

// Update implements app.Store.
func (s *Store) Update(ctx context.Context, change func(app.Tx) error) ([]cloudevents.Event, error) {
	return optimistic.Update(ctx, s.begin, func(t *tx) error { return change(t) })
}

// UpdateView implements app.ViewStore.
func (s *Store) UpdateView(ctx context.Context, change func(app.ViewTx) error) error {
	_, err := optimistic.Update(ctx, s.begin, func(t *tx) error { return change(t) })
	return err
}

func (s *Store) begin() *tx { return &tx{s: s} }

// Commit implements optimistic.Attempt.
func (t *tx) Commit() error { return t.s.commit(t) }

// Published implements optimistic.Attempt.
func (t *tx) Published() []cloudevents.Event { return t.published }

// commit checks every condition of t and applies its writes, all or none.
// A redelivered event wins over a lost race: it is acknowledged as a
// duplicate rather than retried.
//
// An attempt that writes nothing commits nothing and checks nothing, as a
// DynamoDB transaction of no writes is never sent.
func (s *Store) commit(t *tx) error {
	if len(t.writes) == 0 && len(t.handled) == 0 && len(t.published) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range t.handled {
		if s.handled[k] {
			return app.ErrDuplicate
		}
	}
	for _, c := range t.conditions() {
		if !c() {
			return app.ErrStale
		}
	}
	for _, w := range t.writes {
		w.apply()
	}
	for _, k := range t.handled {
		s.handled[k] = true
	}
	s.outbox = append(s.outbox, t.published...)
	bucket := changeBucket(s.now())
	for _, c := range t.changed {
		s.changes[bucket+"|"+string(c.Kind)+"|"+c.ID] = c
	}
	return nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// changeBucket names the bucket of a change stamped at, sortable.
func changeBucket(at time.Time) string {
	return app.ChangeBucketOf(at).Format("2006-01-02T15:04:05Z")
}

// Changed implements app.ChangeLog.
func (s *Store) Changed(_ context.Context, since, until time.Time, p app.Page) ([]app.Change, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from, to := changeBucket(since), changeBucket(until)
	in := func(k string) bool { b, _, _ := strings.Cut(k, "|"); return b >= from && b < to }
	window := map[string]app.Change{}
	for k, c := range s.changes {
		if in(k) {
			window[k] = c
		}
	}
	return page("changes|"+from+"|"+to, window, p, nil, same[app.Change], forwards)
}

// Checkpoint implements app.ChangeLog.
func (s *Store) Checkpoint(_ context.Context, name string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpoints[name], nil
}

// SetCheckpoint implements app.ChangeLog.
func (s *Store) SetCheckpoint(_ context.Context, name string, from, to time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.checkpoints[name].Equal(from) {
		return app.ErrStale
	}
	s.checkpoints[name] = to.UTC()
	return nil
}

// ItemLoads returns how many times the item was loaded, in a unit of work
// or outside one: tests check what a use case did not read.
func (s *Store) ItemLoads(itemID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.itemLoads[itemID]
}

func (s *Store) countItemLoad(itemID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.itemLoads[itemID]++
}

func notFound(what, id string) error {
	return market.Errorf(market.NotFound, "%s %s not found", what, id)
}

// stored returns m[id] converted, market.NotFound (of what) when none.
func stored[V, T any](s *Store, m map[string]V, id, what string, convert func(V) T) (T, error) {
	v, ok := lockedGet(s, m, id)
	if !ok {
		var zero T
		return zero, notFound(what, id)
	}
	return convert(v), nil
}

func restoreItem(st market.ItemState) *market.Item { return market.RestoreItem(cloneItem(st)) }

// Item implements app.Store.
func (s *Store) Item(_ context.Context, itemID string) (*market.Item, error) {
	s.countItemLoad(itemID)
	return stored(s, s.items, itemID, "item", restoreItem)
}

// Reservation implements app.Store.
func (s *Store) Reservation(_ context.Context, rsvID string) (*market.Reservation, error) {
	return stored(s, s.reservations, rsvID, "reservation", market.RestoreReservation)
}

// Payment implements app.Store.
func (s *Store) Payment(_ context.Context, payID string) (*market.Payment, error) {
	return stored(s, s.payments, payID, "payment", market.RestorePayment)
}

// Review returns the review of a reservation, market.NotFound when none.
func (s *Store) Review(_ context.Context, rsvID string) (market.Review, error) {
	return stored(s, s.reviews, rsvID, "review of reservation", same[market.Review])
}

// Seller implements app.Store.
func (s *Store) Seller(_ context.Context, sellerID string) (*market.Seller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, ok := s.sellers[sellerID]
	if !ok {
		sl = market.Seller{ID: sellerID}
	}
	return &sl, nil
}

// Reviews implements app.Store: newest first, by creation time and then
// review id, as the DynamoDB indexes sort them.
func (s *Store) Reviews(_ context.Context, of app.ReviewsOf, p app.Page) ([]market.Review, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	scope, byTime := "reviews|seller|"+of.SellerID, map[string]market.Review{}
	if of.ItemID != "" {
		scope = "reviews|item|" + of.ItemID
	}
	for _, rv := range s.reviews {
		if of.ItemID != "" && rv.ItemID == of.ItemID || of.ItemID == "" && rv.SellerID == of.SellerID {
			byTime[rv.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000000")+"#"+rv.ID] = rv // fixed width: text order is time order
		}
	}
	return page(scope, byTime, p, nil, same[market.Review], backwards)
}

// Items implements app.Store: the items f matches, newest first.
func (s *Store) Items(_ context.Context, f app.ItemFilter, p app.Page) ([]*market.Item, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	feed := map[string]market.ItemState{}
	for _, st := range s.items {
		if f.Matches(st) {
			feed[app.FeedOrder(st.CreatedAt, st.ID)] = st
		}
	}
	scope := strings.Join([]string{"items", string(f.OnSale()), f.Region, f.Category, f.SellerID}, "|")
	return page(scope, feed, p, nil, restoreItem, backwards)
}

// Messages implements app.Store.
func (s *Store) Messages(_ context.Context, rsvID string, p app.Page) ([]market.Message, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byID := map[string]market.Message{}
	for _, m := range s.messages[rsvID] {
		byID[m.ID] = m
	}
	return page("messages|"+rsvID, byID, p, nil, func(m market.Message) market.Message { return m }, forwards)
}

// Row implements app.ViewStore.
func (s *Store) Row(_ context.Context, itemID string) (*app.PageRow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	row, ok := s.rows[itemID]
	if !ok {
		return nil, notFound("item", itemID)
	}
	return &row, nil
}

// Rows implements app.ViewStore.
func (s *Store) Rows(_ context.Context, p app.Page) ([]app.PageRow, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return page("rows", s.rows, p, nil, same[app.PageRow], backwards)
}

// RowsBySeller implements app.ViewStore.
func (s *Store) RowsBySeller(_ context.Context, sellerID string, p app.Page) ([]app.PageRow, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return page("rows|"+sellerID, s.rows, p, func(r app.PageRow) bool { return r.SellerID == sellerID }, same[app.PageRow], forwards)
}

// DealsByBuyer implements app.ViewStore.
func (s *Store) DealsByBuyer(_ context.Context, buyerID string, p app.Page) ([]app.PageDeal, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := map[string]app.PageDeal{}
	for _, deals := range s.deals {
		for rsvID, d := range deals {
			if d.BuyerID == buyerID {
				all[rsvID] = d
			}
		}
	}
	return page("deals|"+buyerID, all, p, nil, same[app.PageDeal], forwards)
}

func same[T any](v T) T { return v }

// direction is the key order of a listing.
type direction bool

const (
	forwards  direction = false // ascending keys
	backwards direction = true  // descending keys: newest first where keys are times or time-ordered ids
)

// page returns one page of the rows of m that match, in key order. The
// cursor is the last key of the previous page, with the listing it belongs
// to: scope names the listing and its partition (a seller, a buyer, a
// chat), and a cursor of another scope is refused as DynamoDB's are.
func page[V, T any](scope string, m map[string]V, p app.Page, match func(V) bool, convert func(V) T, dir direction) ([]T, string, error) {
	limit, err := app.PageLimit(p)
	if err != nil {
		return nil, "", err
	}
	prefix := "m:" + scope + "\x00"
	after := ""
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		if err != nil || !strings.HasPrefix(string(b), prefix) || len(b) == len(prefix) {
			return nil, "", app.BadCursor()
		}
		after = strings.TrimPrefix(string(b), prefix)
	}
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	passed := func(k string) bool { return k <= after }
	if dir == backwards {
		slices.Reverse(keys)
		passed = func(k string) bool { return k >= after }
	}
	var (
		out  []T
		last string
	)
	for _, k := range keys {
		if after != "" && passed(k) || match != nil && !match(m[k]) {
			continue
		}
		if len(out) == limit {
			return out, base64.RawURLEncoding.EncodeToString([]byte(prefix + last)), nil
		}
		out, last = append(out, convert(m[k])), k
	}
	return out, "", nil
}
