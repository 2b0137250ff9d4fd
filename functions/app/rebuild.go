package app

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/functions/market"
)

// ItemSources is what the sources hold of one item's part of MyPage: the
// item (nil when it is gone), every reservation of it, and every payment
// of those reservations. An operator tool reads them (Snapshot), where the
// projector reads only what one event names.
type ItemSources struct {
	ItemID       string
	Item         *market.Item
	Reservations map[string]*market.Reservation // by id; nil: that reservation is gone
	Payments     map[string][]*market.Payment   // by reservation
}

// ItemView is one item's part of MyPage: its row (nil when none) and its
// buyers' rows by reservation.
type ItemView struct {
	Row   *PageRow
	Deals map[string]PageDeal
}

// Follow returns what the projector makes of cur when the sources say src:
// cur as it would be after an event about each of the item's reservations
// (and about those cur shows that are gone), each projected as Project
// does, with the same code. at marks what changed. Where the projector's
// result depends on which event came last (a cancelled payment shows until
// the deal changes), Follow keeps what cur shows while the sources allow
// it, and otherwise shows the reservation's approved payment, else its
// latest one. Follow is pure: it reads and writes nothing.
func (src ItemSources) Follow(cur ItemView, at time.Time) ItemView {
	plan := &planTx{row: cur.Row}
	for _, d := range cur.Deals {
		plan.deals = append(plan.deals, d)
	}
	v, _ := loadView(plan, src.ItemID) // a planTx never fails
	src.follow(v, at)
	out := ItemView{Row: v.row, Deals: map[string]PageDeal{}}
	for id, d := range v.deals {
		out.Deals[id] = *d
	}
	return out
}

// follow brings v in line with src, one reservation at a time.
func (src ItemSources) follow(v *view, at time.Time) {
	ids := unionKeys(src.Reservations, v.deals)
	base := sources{item: src.Item}
	if src.Item != nil && src.Item.RsvID() != "" {
		base.holder = src.Reservations[src.Item.RsvID()]
		if base.holder != nil {
			base.holdPay = paymentOf(src.Payments[base.holder.ID()], base.holder.PayID())
		}
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		s := base
		s.rsvID, s.rsv = id, src.Reservations[id]
		if s.rsv != nil {
			s.pay = src.shownPayment(v, s.rsv)
		}
		v.follow(s, at)
	}
	v.follow(base, at) // an item with no reservation, and its row once the deals are done
}

// shownPayment is the payment a row of r shows: r's approved one, else the
// one the item's row or r's buyer row shows when it is r's, else r's latest.
func (src ItemSources) shownPayment(v *view, r *market.Reservation) *market.Payment {
	pays := src.Payments[r.ID()]
	if p := paymentOf(pays, r.PayID()); p != nil {
		return p
	}
	if v.row != nil && v.row.RsvID == r.ID() {
		if p := paymentOf(pays, v.row.PayID); p != nil {
			return p
		}
	}
	if d := v.deals[r.ID()]; d != nil {
		if p := paymentOf(pays, d.PayID); p != nil {
			return p
		}
	}
	var latest *market.Payment
	for _, p := range pays {
		if latest == nil || p.CreatedAt().After(latest.CreatedAt()) ||
			p.CreatedAt().Equal(latest.CreatedAt()) && p.ID() > latest.ID() {
			latest = p
		}
	}
	return latest
}

func paymentOf(pays []*market.Payment, payID string) *market.Payment {
	if payID == "" {
		return nil
	}
	for _, p := range pays {
		if p.ID() == payID {
			return p
		}
	}
	return nil
}

// ViewItems lists, sorted, every item that has a part of MyPage or should
// have one: items, items with a row or buyer rows, and items that
// reservations name.
func (s *Snapshot) ViewItems() []string {
	ids := map[string]bool{}
	for id := range s.Items {
		ids[id] = true
	}
	for id := range s.Rows {
		ids[id] = true
	}
	for id := range s.Deals {
		ids[id] = true
	}
	for _, r := range s.Reservations {
		ids[r.ItemID()] = true
	}
	return slices.Sorted(maps.Keys(ids))
}

// ItemView returns the item's part of MyPage as the snapshot holds it.
func (s *Snapshot) ItemView(itemID string) ItemView {
	v := ItemView{Deals: map[string]PageDeal{}}
	if row, ok := s.Rows[itemID]; ok {
		v.Row = &row
	}
	for id, d := range s.Deals[itemID] {
		v.Deals[id] = d
	}
	return v
}

// ItemSources returns the item's sources as the snapshot holds them.
func (s *Snapshot) ItemSources(itemID string) ItemSources {
	src := ItemSources{ItemID: itemID, Item: s.Items[itemID], Reservations: map[string]*market.Reservation{}, Payments: map[string][]*market.Payment{}}
	for id, r := range s.Reservations {
		if r.ItemID() == itemID {
			src.Reservations[id] = r
		}
	}
	for _, p := range s.Payments {
		if _, ok := src.Reservations[p.RsvID()]; ok || p.ItemID() == itemID {
			src.Payments[p.RsvID()] = append(src.Payments[p.RsvID()], p)
		}
	}
	return src
}

// RebuildReport says what RebuildView did.
type RebuildReport struct {
	Items        int `json:"items"`
	RowsWritten  int `json:"rowsWritten"`
	RowsDeleted  int `json:"rowsDeleted"`
	DealsWritten int `json:"dealsWritten"`
	DealsDeleted int `json:"dealsDeleted"`
}

// RebuildView writes MyPage from the sources (SPEC 3.5): for every item
// the snapshot of sc names (ViewItems), one unit of work on the view that
// loads the item's rows first and then reads its sources fresh, as Project
// does, and writes the rows the projector would (ItemSources.Follow),
// deleting those of items and reservations that are gone. It is safe while
// the system runs: every write is conditional on the rows as loaded, so a
// projection that commits meanwhile makes the item's unit of work run
// again on fresh loads, and a rebuild never writes an older state over a
// newer one. Running it again writes nothing. Reservations and payments
// made after the snapshot are found through the item and the rows; what
// is still missed, the projector writes on their events.
func (s *Service) RebuildView(ctx context.Context, sc Scanner) (RebuildReport, error) {
	snap, err := sc.Snapshot(ctx)
	if err != nil {
		return RebuildReport{}, err
	}
	var rep RebuildReport
	for _, id := range snap.ViewItems() {
		known := snap.ItemSources(id)
		var counted RebuildReport
		err := s.Views.UpdateView(ctx, func(tx ViewTx) error {
			counted = RebuildReport{}
			ct := &countingTx{ViewTx: tx, rep: &counted}
			v, err := loadView(ct, id)
			if err != nil {
				return err
			}
			src, err := s.freshSources(ctx, known, v)
			if err != nil {
				return err
			}
			src.follow(v, s.now())
			v.write(ct)
			return nil
		})
		if err != nil {
			return rep, err
		}
		rep.Items++
		rep.RowsWritten += counted.RowsWritten
		rep.RowsDeleted += counted.RowsDeleted
		rep.DealsWritten += counted.DealsWritten
		rep.DealsDeleted += counted.DealsDeleted
	}
	return rep, nil
}

// freshSources reads again, strongly consistent, every source known of the
// item, and those its stored item and loaded rows name.
func (s *Service) freshSources(ctx context.Context, known ItemSources, v *view) (ItemSources, error) {
	src := ItemSources{ItemID: known.ItemID, Reservations: map[string]*market.Reservation{}, Payments: map[string][]*market.Payment{}}
	var err error
	if src.Item, err = found(s.Store.Item(ctx, known.ItemID)); err != nil {
		return src, err
	}
	rsvIDs := unionKeys(known.Reservations, v.deals)
	if src.Item != nil && src.Item.RsvID() != "" {
		rsvIDs[src.Item.RsvID()] = true
	}
	if v.row != nil && v.row.RsvID != "" {
		rsvIDs[v.row.RsvID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(rsvIDs)) {
		r, err := found(s.Store.Reservation(ctx, id))
		if err != nil {
			return src, err
		}
		if r == nil || r.ItemID() != known.ItemID {
			continue
		}
		src.Reservations[id] = r
		payIDs := map[string]bool{r.PayID(): true}
		for _, p := range known.Payments[id] {
			payIDs[p.ID()] = true
		}
		if d := v.deals[id]; d != nil {
			payIDs[d.PayID] = true
		}
		if v.row != nil && v.row.RsvID == id {
			payIDs[v.row.PayID] = true
		}
		delete(payIDs, "")
		for _, pid := range slices.Sorted(maps.Keys(payIDs)) {
			p, err := found(s.Store.Payment(ctx, pid))
			if err != nil {
				return src, err
			}
			if p != nil && p.RsvID() == id {
				src.Payments[id] = append(src.Payments[id], p)
			}
		}
	}
	return src, nil
}

// planTx is a ViewTx over rows given up front that writes nothing: Follow
// loads its view through it.
type planTx struct {
	row   *PageRow
	deals []PageDeal
}

func (p *planTx) Row(string) (*PageRow, error) {
	if p.row == nil {
		return nil, nil
	}
	row := *p.row
	return &row, nil
}

func (p *planTx) Deals(string) ([]PageDeal, error) {
	deals := slices.Clone(p.deals)
	slices.SortFunc(deals, func(a, b PageDeal) int { return strings.Compare(a.RsvID, b.RsvID) })
	return deals, nil
}

func (p *planTx) SaveRow(*PageRow)                      {}
func (p *planTx) DeleteRow(*PageRow)                    {}
func (p *planTx) SaveDeal(*PageDeal)                    {}
func (p *planTx) DeleteDeal(*PageDeal)                  {}
func (p *planTx) MarkHandled(string, cloudevents.Event) {}

// countingTx counts the writes of a rebuild's unit of work.
type countingTx struct {
	ViewTx
	rep *RebuildReport
}

func (c *countingTx) SaveRow(row *PageRow)   { c.rep.RowsWritten++; c.ViewTx.SaveRow(row) }
func (c *countingTx) DeleteRow(row *PageRow) { c.rep.RowsDeleted++; c.ViewTx.DeleteRow(row) }
func (c *countingTx) SaveDeal(d *PageDeal)   { c.rep.DealsWritten++; c.ViewTx.SaveDeal(d) }
func (c *countingTx) DeleteDeal(d *PageDeal) { c.rep.DealsDeleted++; c.ViewTx.DeleteDeal(d) }
