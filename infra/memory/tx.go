package memory

import (
	"slices"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// tx is one attempt of a unit of work. Reads take the store's lock one at
// a time and remember a condition that what they saw still holds (a load
// that finds nothing, that there is still nothing); writes are kept with
// the condition they need and applied by Store.commit.
type tx struct {
	s         *Store
	reads     map[rowKey]func() bool
	writes    []write
	published []cloudevents.Event
	handled   []string
	changed   []app.Change // for the change log
}

// rowKey names one row of one map, as a DynamoDB key names one item.
type rowKey struct{ table, id string }

type write struct {
	key   rowKey
	cond  func() bool // nil: unconditional
	apply func()
}

var (
	_ app.Tx     = (*tx)(nil)
	_ app.ViewTx = (*tx)(nil)
)

func (t *tx) read(k rowKey, stillSame func() bool) {
	if t.reads == nil {
		t.reads = map[rowKey]func() bool{}
	}
	t.reads[k] = stillSame
}

func (t *tx) write(k rowKey, cond func() bool, apply func()) {
	t.writes = append(t.writes, write{key: k, cond: cond, apply: apply})
}

// conditions are the writes' own conditions, and for every row read and
// not written, that it is as it was read.
func (t *tx) conditions() []func() bool {
	written := map[rowKey]bool{}
	var conds []func() bool
	for _, w := range t.writes {
		written[w.key] = true
		if w.cond != nil {
			conds = append(conds, w.cond)
		}
	}
	for k, c := range t.reads {
		if !written[k] {
			conds = append(conds, c)
		}
	}
	return conds
}

// hasVersion is the condition that m holds k at version loaded, or holds
// no k when loaded is 0. It runs under the store's lock.
func hasVersion[K comparable, V any](m map[K]V, k K, loaded int64, version func(V) int64) func() bool {
	return func() bool {
		v, ok := m[k]
		if loaded == 0 {
			return !ok
		}
		return ok && version(v) == loaded
	}
}

// holds is the condition that m maps k to want ("" for no entry).
func holds[K comparable](m map[K]string, k K, want string) func() bool {
	return func() bool { return m[k] == want }
}

// save writes v under k at version loaded+1, if k is still at loaded.
func save[K comparable, V any](t *tx, table string, m map[K]V, k K, id string, v V, loaded int64, version func(V) int64, set func(*V, int64)) int64 {
	set(&v, loaded+1)
	t.write(rowKey{table, id}, hasVersion(m, k, loaded, version), func() { m[k] = v })
	return loaded + 1
}

// remove deletes k, if it is still at version loaded.
func remove[K comparable, V any](t *tx, table string, m map[K]V, k K, id string, loaded int64, version func(V) int64) int64 {
	t.write(rowKey{table, id}, hasVersion(m, k, loaded, version), func() { delete(m, k) })
	return loaded + 1
}

func itemVersion(s market.ItemState) int64              { return s.Version }
func setItemVersion(s *market.ItemState, v int64)       { s.Version = v }
func rsvVersion(s market.ReservationState) int64        { return s.Version }
func setRsvVersion(s *market.ReservationState, v int64) { s.Version = v }
func payVersion(s market.PaymentState) int64            { return s.Version }
func setPayVersion(s *market.PaymentState, v int64)     { s.Version = v }
func sellerVersion(s market.Seller) int64               { return s.Version }
func setSellerVersion(s *market.Seller, v int64)        { s.Version = v }
func rowVersion(r app.PageRow) int64                    { return r.Version }
func setRowVersion(r *app.PageRow, v int64)             { r.Version = v }
func dealVersion(d app.PageDeal) int64                  { return d.Version }
func setDealVersion(d *app.PageDeal, v int64)           { d.Version = v }
func cloneItem(s market.ItemState) market.ItemState {
	s.Details.Photos = slices.Clone(s.Details.Photos)
	return s
}
func lockedGet[K comparable, V any](s *Store, m map[K]V, k K) (V, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := m[k]
	return v, ok
}

// versioned reads m[id] and remembers its version (0: absent) for the
// commit to check.
func versioned[V any](t *tx, table string, m map[string]V, id string, version func(V) int64) (V, bool) {
	v, ok := lockedGet(t.s, m, id)
	t.read(rowKey{table, id}, hasVersion(m, id, version(v), version))
	return v, ok
}

// existing is versioned for a row that must exist: market.NotFound (of
// what) when there is none.
func existing[V, T any](t *tx, table string, m map[string]V, id, what string, version func(V) int64, convert func(V) T) (T, error) {
	v, ok := versioned(t, table, m, id, version)
	if !ok {
		var zero T
		return zero, notFound(what, id)
	}
	return convert(v), nil
}

func (t *tx) Item(itemID string) (*market.Item, error) {
	t.s.countItemLoad(itemID)
	return existing(t, "items", t.s.items, itemID, "item", itemVersion, restoreItem)
}

func (t *tx) Reservation(rsvID string) (*market.Reservation, error) {
	return existing(t, "reservations", t.s.reservations, rsvID, "reservation", rsvVersion, market.RestoreReservation)
}

func (t *tx) Payment(payID string) (*market.Payment, error) {
	return existing(t, "payments", t.s.payments, payID, "payment", payVersion, market.RestorePayment)
}

func (t *tx) Seller(sellerID string) (*market.Seller, error) {
	sl, ok := versioned(t, "sellers", t.s.sellers, sellerID, sellerVersion)
	if !ok {
		sl = market.Seller{ID: sellerID}
	}
	return &sl, nil
}

func (t *tx) Reviewed(rsvID string) (bool, error) {
	_, ok := t.review(rsvID)
	return ok, nil
}

func (t *tx) Review(rsvID string) (market.Review, error) {
	rv, ok := t.review(rsvID)
	if !ok {
		return market.Review{}, notFound("review of reservation", rsvID)
	}
	return rv, nil
}

// review reads the review of a reservation and remembers whether there was
// one: reviews never change, so presence is what the commit checks.
func (t *tx) review(rsvID string) (market.Review, bool) {
	rv, ok := lockedGet(t.s, t.s.reviews, rsvID)
	t.read(rowKey{"reviews", rsvID}, func() bool { _, now := t.s.reviews[rsvID]; return now == ok })
	return rv, ok
}

func (t *tx) OpenChat(itemID, buyerID string) (string, error) {
	k := chatKey{itemID, buyerID}
	rsvID, _ := lockedGet(t.s, t.s.openChats, k)
	t.read(chatRow(k), holds(t.s.openChats, k, rsvID))
	return rsvID, nil
}

func (t *tx) ApprovedPayment(rsvID string) (string, error) {
	payID, _ := lockedGet(t.s, t.s.approved, rsvID)
	t.read(rowKey{"approved", rsvID}, holds(t.s.approved, rsvID, payID))
	return payID, nil
}

func chatRow(k chatKey) rowKey { return rowKey{"openChats", k.itemID + "\x00" + k.buyerID} }

func (t *tx) SaveItem(it *market.Item) int64 {
	st := cloneItem(it.State())
	t.change(app.ChangedItem, st.ID, st.ID)
	return save(t, "items", t.s.items, st.ID, st.ID, st, st.Version, itemVersion, setItemVersion)
}

func (t *tx) DeleteItem(it *market.Item) int64 {
	t.change(app.ChangedItem, it.ID(), it.ID())
	return remove(t, "items", t.s.items, it.ID(), it.ID(), it.Version(), itemVersion)
}

func (t *tx) SaveReservation(r *market.Reservation) int64 {
	st := r.State()
	t.change(app.ChangedReservation, st.ID, st.ItemID)
	return save(t, "reservations", t.s.reservations, st.ID, st.ID, st, st.Version, rsvVersion, setRsvVersion)
}

func (t *tx) DeleteReservation(r *market.Reservation) int64 {
	t.change(app.ChangedReservation, r.ID(), r.ItemID())
	return remove(t, "reservations", t.s.reservations, r.ID(), r.ID(), r.Version(), rsvVersion)
}

func (t *tx) SavePayment(p *market.Payment) int64 {
	st := p.State()
	t.change(app.ChangedPayment, st.ID, st.ItemID)
	return save(t, "payments", t.s.payments, st.ID, st.ID, st, st.Version, payVersion, setPayVersion)
}

func (t *tx) SaveSeller(sl *market.Seller) int64 {
	return save(t, "sellers", t.s.sellers, sl.ID, sl.ID, *sl, sl.Version, sellerVersion, setSellerVersion)
}

func (t *tx) AddMessage(m market.Message) {
	t.write(rowKey{"messages", m.RsvID + "\x00" + m.ID},
		func() bool {
			return !slices.ContainsFunc(t.s.messages[m.RsvID], func(o market.Message) bool { return o.ID == m.ID })
		},
		func() { t.s.messages[m.RsvID] = append(t.s.messages[m.RsvID], m) })
}

func (t *tx) AddReview(rv market.Review) {
	t.change(app.ChangedReview, rv.RsvID, rv.ItemID)
	t.write(rowKey{"reviews", rv.RsvID},
		func() bool { _, taken := t.s.reviews[rv.RsvID]; return !taken },
		func() { t.s.reviews[rv.RsvID] = rv })
}

func (t *tx) SetOpenChat(itemID, buyerID, rsvID string) {
	k := chatKey{itemID, buyerID}
	setUnique(t, chatRow(k), t.s.openChats, k, rsvID)
}

func (t *tx) SetApprovedPayment(rsvID, payID string) {
	setUnique(t, rowKey{"approved", rsvID}, t.s.approved, rsvID, payID)
}

// setUnique sets or (with "") clears a uniqueness record. Setting requires
// the record as this attempt read it, or free when it did not read it.
func setUnique[K comparable](t *tx, row rowKey, m map[K]string, k K, owner string) {
	cond, read := t.reads[row]
	if !read && owner != "" {
		cond = holds(m, k, "")
	}
	t.write(row, cond, func() {
		if owner == "" {
			delete(m, k)
		} else {
			m[k] = owner
		}
	})
}

func (t *tx) Publish(e cloudevents.Event) { t.published = append(t.published, e) }

func (t *tx) MarkHandled(consumer string, e cloudevents.Event) {
	t.handled = append(t.handled, app.HandledKey(consumer, e))
}

func (t *tx) MarkFact(consumer, fact string) {
	t.handled = append(t.handled, app.FactKey(consumer, fact))
}

func (t *tx) Row(itemID string) (*app.PageRow, error) {
	row, ok := versioned(t, "rows", t.s.rows, itemID, rowVersion)
	if !ok {
		return nil, nil
	}
	return &row, nil
}

func (t *tx) Deals(itemID string) ([]app.PageDeal, error) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	var deals []app.PageDeal
	for _, d := range t.s.deals[itemID] {
		deals = append(deals, d)
	}
	slices.SortFunc(deals, func(a, b app.PageDeal) int { return strings.Compare(a.RsvID, b.RsvID) })
	return deals, nil
}

func (t *tx) SaveRow(row *app.PageRow) {
	save(t, "rows", t.s.rows, row.ItemID, row.ItemID, *row, row.Version, rowVersion, setRowVersion)
}

func (t *tx) DeleteRow(row *app.PageRow) {
	remove(t, "rows", t.s.rows, row.ItemID, row.ItemID, row.Version, rowVersion)
}

func (t *tx) SaveDeal(d *app.PageDeal) {
	deals := t.s.dealsOf(d.ItemID)
	save(t, "deals", deals, d.RsvID, d.ItemID+"\x00"+d.RsvID, *d, d.Version, dealVersion, setDealVersion)
}

func (t *tx) DeleteDeal(d *app.PageDeal) {
	deals := t.s.dealsOf(d.ItemID)
	remove(t, "deals", deals, d.RsvID, d.ItemID+"\x00"+d.RsvID, d.Version, dealVersion)
}

// dealsOf returns the map of an item's deals, made when it has none yet.
func (s *Store) dealsOf(itemID string) map[string]app.PageDeal {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.deals[itemID]
	if !ok {
		m = map[string]app.PageDeal{}
		s.deals[itemID] = m
	}
	return m
}

// change records that the attempt writes an aggregate, for the change log.
func (t *tx) change(kind app.ChangeKind, id, itemID string) {
	t.changed = append(t.changed, app.Change{Kind: kind, ID: id, ItemID: itemID})
}
