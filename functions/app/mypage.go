package app

import (
	"context"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

// The MyPage view (CQRS, SPEC 3.5): a row per item with the deal that
// holds it, and a row per reservation for its buyer, kept by the events of
// each item. An event is a notification, not a proof: Project reads the
// sources of the item the event is about when it runs (the item, the
// reservation that holds it and that reservation's payment, and the
// reservation or payment the event names) and writes that item's part of
// the view as the sources say. So a forged event writes nothing the
// sources do not say; a late or reordered one cannot bring back an older
// state, because the view is loaded before the sources are read and the
// write is conditional on the view as loaded; and a lost event is made good
// by the next one about the same item. An event that contradicts its
// source (a payment that does not exist, a version ahead of the stored
// one) is refused as poison, as the policies refuse it.
//
// Project may be called concurrently and more than once per event: every
// write is version-checked and commits with MarkHandled.

// view is the part of the view one item has: its row (nil when none) and
// its buyers' rows, with their state as loaded to write only what changed.
type view struct {
	row, loadedRow *PageRow
	deals          map[string]*PageDeal
	loadedDeals    map[string]PageDeal
}

// sources is what the sources say of one item when an event about it is
// projected.
type sources struct {
	item    *market.Item        // nil when it is gone
	holder  *market.Reservation // the reservation holding the item, nil when none
	holdPay *market.Payment     // the holder's approved payment, nil when none
	// The reservation and payment the event names: rsvID is "" for an item
	// fact; rsv is nil when that reservation is gone.
	rsvID string
	rsv   *market.Reservation
	pay   *market.Payment
	// gone is what an item fact says of an item the sources no longer
	// have: its buyers' rows keep showing what it was.
	gone *events.Item
}

// Project applies one event to the MyPage view.
func (s *Service) Project(ctx context.Context, e cloudevents.Event) error {
	p, err := payloadOf(e)
	if err != nil {
		return err
	}
	_, err = s.project(ctx, p.PartitionKey(), e.Time(), func() (sources, error) { return s.sourcesOf(ctx, e, p) },
		func(tx ViewTx) { tx.MarkHandled(s.Source, e) })
	return err
}

// project writes one item's part of the view as the sources read says,
// stamping what changed with at; mark, when set, adds the dedupe record of
// the cause. The view is loaded before the sources are read, so a write
// conditional on the view as loaded cannot bring back an older state. It
// reports whether it wrote anything.
func (s *Service) project(ctx context.Context, itemID string, at time.Time, read func() (sources, error), mark func(ViewTx)) (bool, error) {
	var wrote bool
	err := s.Views.UpdateView(ctx, func(tx ViewTx) error {
		v, err := loadView(tx, itemID)
		if err != nil {
			return err
		}
		src, err := read()
		if err != nil {
			return err
		}
		v.follow(src, at)
		if mark != nil {
			mark(tx)
		}
		wrote = v.write(tx)
		return nil
	})
	return wrote, err
}

// sourcesOf reads what the sources say of the item p is about.
func (s *Service) sourcesOf(ctx context.Context, e cloudevents.Event, p events.Payload) (sources, error) {
	var src sources
	itemID := p.PartitionKey()
	switch p := p.(type) {
	case *events.Item:
		if err := s.checkItemFact(ctx, e, itemID, p.Version); err != nil {
			return src, err
		}
	case *events.ItemScore:
		if err := s.checkItemFact(ctx, e, itemID, p.Version); err != nil {
			return src, err
		}
	case *events.Reservation:
		src.rsvID = p.RsvID
		r, err := found(s.Store.Reservation(ctx, p.RsvID))
		if err != nil {
			return src, err
		}
		if r != nil {
			if err := agrees(e, p.Version, r.Version(), r.ItemID() == itemID); err != nil {
				return src, err
			}
		}
		src.rsv = r
	case *events.Payment:
		pay, err := found(s.Store.Payment(ctx, p.PayID))
		if err != nil {
			return src, err
		}
		if pay == nil {
			return src, refused(e, "payment %s does not exist", p.PayID)
		}
		if err := agrees(e, p.Version, pay.Version(), pay.RsvID() == p.RsvID && pay.ItemID() == itemID); err != nil {
			return src, err
		}
		src.rsvID, src.pay = pay.RsvID(), pay
		if src.rsv, err = found(s.Store.Reservation(ctx, pay.RsvID())); err != nil {
			return src, err
		}
	}
	if it, ok := p.(*events.Item); ok {
		src.gone = it
	}
	return src, s.itemSources(ctx, itemID, &src)
}

// itemSources completes src with what the sources say of the item itself:
// the item, the reservation holding it and that one's payment. src.gone
// is kept only when the item is gone.
func (s *Service) itemSources(ctx context.Context, itemID string, src *sources) error {
	var err error
	if src.item, err = found(s.Store.Item(ctx, itemID)); src.item != nil {
		src.gone = nil
	}
	if err != nil || src.item == nil || src.item.RsvID() == "" {
		return err
	}
	if src.item.RsvID() == src.rsvID {
		src.holder = src.rsv
	} else if src.holder, err = found(s.Store.Reservation(ctx, src.item.RsvID())); err != nil {
		return err
	}
	if src.holder != nil && src.holder.PayID() != "" {
		src.holdPay, err = found(s.Store.Payment(ctx, src.holder.PayID()))
	}
	return err
}

// checkItemFact refuses an item fact ahead of its item.
func (s *Service) checkItemFact(ctx context.Context, e cloudevents.Event, itemID string, version int64) error {
	it, err := found(s.Store.Item(ctx, itemID))
	if err != nil || it == nil {
		return err
	}
	return agrees(e, version, it.Version(), true)
}

// found turns a NotFound load into nil.
func found[T any](v *T, err error) (*T, error) {
	if market.ErrorCode(err) == market.NotFound {
		return nil, nil
	}
	return v, err
}

func loadView(tx ViewTx, itemID string) (*view, error) {
	row, err := tx.Row(itemID)
	if err != nil {
		return nil, err
	}
	deals, err := tx.Deals(itemID)
	if err != nil {
		return nil, err
	}
	v := &view{row: row, deals: map[string]*PageDeal{}, loadedDeals: map[string]PageDeal{}}
	if row != nil {
		loaded := *row
		v.loadedRow = &loaded
	}
	for _, d := range deals {
		v.loadedDeals[d.RsvID] = d
		v.deals[d.RsvID] = &d
	}
	return v, nil
}

// follow brings v in line with src; at marks what changed.
func (v *view) follow(src sources, at time.Time) {
	if src.rsvID != "" && src.rsv == nil {
		delete(v.deals, src.rsvID)
	}
	// The reservation the event names, and the holder: an event about the
	// item also makes good a lost event of the deal that holds it.
	v.followDeal(src.rsv, src.pay)
	v.followDeal(src.holder, src.holdPay)
	for _, d := range v.deals {
		if src.item == nil {
			d.ItemStatus = "DELETED"
			if d.ItemName == "" && src.gone != nil {
				d.ItemName, d.Price = src.gone.Name, src.gone.Price
			}
		} else {
			d.ItemName, d.ItemStatus, d.Price = src.item.Details().Name, string(src.item.Status()), src.item.Price()
		}
	}
	if src.item == nil {
		v.row = nil
		return
	}
	if v.row == nil {
		v.row = &PageRow{ItemID: src.item.ID()}
	}
	v.followItem(src)
	v.row.OpenChats = len(v.deals)
	if v.loadedRow == nil || !sameRow(*v.row, *v.loadedRow) {
		v.row.UpdatedAt = latest(v.row.UpdatedAt, at)
	}
	for id, d := range v.deals {
		if loaded, ok := v.loadedDeals[id]; !ok || !sameDeal(*d, loaded) {
			d.UpdatedAt = latest(d.UpdatedAt, at)
		}
	}
}

// followItem sets the row's item and its deal as src says: the holder's
// meeting and, for its payment, the approved one, or the one the event
// names (a cancelled payment shows until the deal changes).
func (v *view) followItem(src sources) {
	row, it := v.row, src.item
	row.ItemName, row.ItemStatus, row.Price, row.SellerID = it.Details().Name, string(it.Status()), it.Price(), it.SellerID()
	row.Score, row.ReviewCount = it.Score(), it.ReviewCount()
	h := src.holder
	if h == nil {
		clearDeal(row)
		return
	}
	if row.RsvID != h.ID() {
		clearDeal(row)
	}
	m := h.Meeting()
	row.RsvID, row.BuyerID, row.RsvStatus = h.ID(), h.BuyerID(), string(h.Status())
	row.RsvDate, row.RsvTime, row.RsvPlace = m.Date, m.Time, m.Place
	switch {
	case src.holdPay != nil:
		row.PayID, row.PayStatus = src.holdPay.ID(), string(src.holdPay.Status())
	case src.pay != nil && src.pay.RsvID() == h.ID():
		row.PayID, row.PayStatus = src.pay.ID(), string(src.pay.Status())
	}
}

// followDeal sets the buyer row of r as r says, with pay when it is r's.
func (v *view) followDeal(r *market.Reservation, pay *market.Payment) {
	if r == nil {
		return
	}
	d := v.deals[r.ID()]
	if d == nil {
		d = &PageDeal{RsvID: r.ID()}
		v.deals[r.ID()] = d
	}
	followReservation(d, r)
	if pay != nil && pay.RsvID() == r.ID() {
		d.PayID, d.PayStatus = pay.ID(), string(pay.Status())
	}
}

func followReservation(d *PageDeal, r *market.Reservation) {
	m := r.Meeting()
	d.ItemID, d.BuyerID, d.SellerID, d.RsvStatus = r.ItemID(), r.BuyerID(), r.SellerID(), string(r.Status())
	d.RsvDate, d.RsvTime, d.RsvPlace = m.Date, m.Time, m.Place
}

// write stores what changed since v was loaded, and reports whether
// anything did.
func (v *view) write(tx ViewTx) bool {
	wrote := false
	switch {
	case v.row == nil && v.loadedRow != nil:
		tx.DeleteRow(v.loadedRow)
		wrote = true
	case v.row != nil && (v.loadedRow == nil || !sameRow(*v.row, *v.loadedRow)):
		tx.SaveRow(v.row)
		wrote = true
	}
	for id, loaded := range v.loadedDeals {
		if _, kept := v.deals[id]; !kept {
			tx.DeleteDeal(&loaded)
			wrote = true
		}
	}
	for id, d := range v.deals {
		if loaded, ok := v.loadedDeals[id]; !ok || !sameDeal(*d, loaded) {
			tx.SaveDeal(d)
			wrote = true
		}
	}
	return wrote
}

func clearDeal(row *PageRow) {
	row.RsvID, row.RsvStatus, row.BuyerID, row.RsvDate, row.RsvTime, row.RsvPlace = "", "", "", "", "", ""
	row.PayID, row.PayStatus = "", ""
}

// sameRow and sameDeal compare what a row shows, not when it changed.
func sameRow(a, b PageRow) bool {
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return a == b
}

func sameDeal(a, b PageDeal) bool {
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return a == b
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// MyPage answers every item that is not deleted, with its deal, one page
// at a time, each row as by may see it (PageRow.SeenBy).
func (s *Service) MyPage(ctx context.Context, by string, p Page) ([]PageRow, string, error) {
	rows, next, err := s.Views.Rows(ctx, p)
	for i := range rows {
		rows[i] = rows[i].SeenBy(by)
	}
	return rows, next, err
}

// MyPageRow answers one item's row as by may see it (PageRow.SeenBy).
func (s *Service) MyPageRow(ctx context.Context, by, itemID string) (*PageRow, error) {
	row, err := s.Views.Row(ctx, itemID)
	if err != nil {
		return nil, err
	}
	seen := row.SeenBy(by)
	return &seen, nil
}

// SeenBy is the row as viewer may see it. Who meets whom, where and when,
// and the payment's id are the business of the deal's seller and buyer
// (SPEC section 3.5): to anyone else the row shows the item and the state
// of its deal (rsvStatus, payStatus), without buyerId, rsvDate, rsvTime,
// rsvPlace or payId.
func (r PageRow) SeenBy(viewer string) PageRow {
	if viewer != "" && (viewer == r.SellerID || viewer == r.BuyerID) {
		return r
	}
	r.BuyerID, r.RsvDate, r.RsvTime, r.RsvPlace, r.PayID = "", "", "", "", ""
	return r
}

// UserPage is one user's MyPage: the items they sell and the reservations
// they made as buyer.
type UserPage struct {
	Selling []PageRow
	Buying  []PageDeal
}

// MyPageOf answers userID's page to by. A user's page shows what they
// bought, so it is theirs alone. The two lists page independently: the
// cursor of each is returned and taken separately.
func (s *Service) MyPageOf(ctx context.Context, by, userID string, selling, buying Page) (UserPage, string, string, error) {
	if by != userID {
		return UserPage{}, "", "", market.Errorf(market.Forbidden, "a user's MyPage is theirs alone")
	}
	rows, nextSelling, err := s.Views.RowsBySeller(ctx, userID, selling)
	if err != nil {
		return UserPage{}, "", "", err
	}
	deals, nextBuying, err := s.Views.DealsByBuyer(ctx, userID, buying)
	if err != nil {
		return UserPage{}, "", "", err
	}
	return UserPage{Selling: rows, Buying: deals}, nextSelling, nextBuying, nil
}
