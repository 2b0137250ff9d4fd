package app

import (
	"context"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

// The MyPage view (CQRS, SPEC 3.5) is built only from events: a row per
// item with the deal that holds it, and a row per reservation for its
// buyer. Project may be called concurrently and more than once per event:
// every write is version-checked and commits with MarkHandled, so each
// event is applied exactly once. It relies on the broker delivering the
// events of one item in order (they share a partition key); replaying the
// log into empty view tables rebuilds the view.

// view is the part of the view one event touches: the item's row (nil
// when the item has none) and the buyer rows to write or delete.
type view struct {
	row       *PageRow
	deleteRow bool
	deals     []*PageDeal
	gone      []*PageDeal
}

// Project applies one event to the MyPage view.
func (s *Service) Project(ctx context.Context, e cloudevents.Event) error {
	p, err := events.Decode(e)
	if err != nil {
		return market.Errorf(market.Invalid, "poison event: %v", err)
	}
	return s.Views.UpdateView(ctx, func(tx ViewTx) error {
		v, err := loadView(tx, p.PartitionKey())
		if err != nil {
			return err
		}
		project(v, events.Type(e.Type()), p)
		tx.MarkHandled(s.Source, e)
		switch {
		case v.row != nil && v.deleteRow:
			tx.DeleteRow(v.row)
		case v.row != nil:
			v.row.UpdatedAt = e.Time()
			tx.SaveRow(v.row)
		}
		for _, d := range v.deals {
			d.UpdatedAt = e.Time()
			tx.SaveDeal(d)
		}
		for _, d := range v.gone {
			tx.DeleteDeal(d)
		}
		return nil
	})
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
	v := &view{row: row}
	for i := range deals {
		v.deals = append(v.deals, &deals[i])
	}
	return v, nil
}

// project changes v as event typ with payload p says. It only touches
// what the event is about; an event about an item without a row (deleted,
// or never seen) still updates the buyer rows.
func project(v *view, typ events.Type, p events.Payload) {
	switch p := p.(type) {
	case *events.Item:
		if typ == events.ItemRegistered && v.row == nil {
			v.row = &PageRow{ItemID: p.ItemID}
		}
		if v.row != nil {
			applyItem(v.row, p)
			v.deleteRow = typ == events.ItemDeleted
		}
		status := p.Status
		if typ == events.ItemDeleted {
			status = "DELETED"
		}
		for _, d := range v.deals {
			d.ItemName, d.ItemStatus, d.Price = p.Name, status, p.Price
		}
	case *events.ItemScore:
		if v.row != nil {
			v.row.Score, v.row.ReviewCount = p.Score, p.ReviewCount
		}
	case *events.Reservation:
		projectReservation(v, typ, p)
	case *events.Payment:
		if v.row != nil && v.row.RsvID == p.RsvID {
			v.row.PayID, v.row.PayStatus = p.PayID, p.Status
		}
		if d := v.deal(p.RsvID); d != nil {
			d.PayID, d.PayStatus = p.PayID, p.Status
		}
	}
	v.keepOnly(touched(p))
}

func projectReservation(v *view, typ events.Type, r *events.Reservation) {
	d := v.deal(r.RsvID)
	switch typ {
	case events.ReservationRequested:
		if d != nil {
			return // seen before
		}
		d = &PageDeal{RsvID: r.RsvID, ItemID: r.ItemID, BuyerID: r.BuyerID, SellerID: r.SellerID}
		if v.row != nil {
			v.row.OpenChats++
			d.ItemName, d.ItemStatus, d.Price = v.row.ItemName, v.row.ItemStatus, v.row.Price
		}
		v.deals = append(v.deals, d)
	case events.ReservationDeleted:
		if d != nil {
			v.gone = append(v.gone, d)
			v.deals = nil
			if v.row != nil && v.row.OpenChats > 0 {
				v.row.OpenChats--
			}
		}
		if v.row != nil && v.row.RsvID == r.RsvID {
			clearDeal(v.row)
		}
		return
	}
	if d != nil {
		d.RsvStatus, d.RsvDate, d.RsvTime, d.RsvPlace = r.RsvStatus, r.RsvDate, r.RsvTime, r.RsvPlace
	}
	holds := typ == events.ReservationConfirmed || (v.row != nil && v.row.RsvID == r.RsvID)
	if v.row != nil && holds && r.RsvStatus != string(market.RsvCreated) {
		if v.row.RsvID != r.RsvID {
			clearDeal(v.row)
		}
		v.row.RsvID, v.row.BuyerID, v.row.RsvStatus = r.RsvID, r.BuyerID, r.RsvStatus
		v.row.RsvDate, v.row.RsvTime, v.row.RsvPlace = r.RsvDate, r.RsvTime, r.RsvPlace
	}
}

func applyItem(row *PageRow, p *events.Item) {
	row.ItemName, row.ItemStatus, row.Price, row.SellerID = p.Name, p.Status, p.Price, p.SellerID
	row.Score, row.ReviewCount = p.Score, p.ReviewCount
	if p.RsvID == "" {
		clearDeal(row)
	} else {
		row.RsvID = p.RsvID
	}
}

func clearDeal(row *PageRow) {
	row.RsvID, row.RsvStatus, row.BuyerID, row.RsvDate, row.RsvTime, row.RsvPlace = "", "", "", "", "", ""
	row.PayID, row.PayStatus = "", ""
}

func (v *view) deal(rsvID string) *PageDeal {
	for _, d := range v.deals {
		if d.RsvID == rsvID {
			return d
		}
	}
	return nil
}

// touched names the buyer row an event is about; "" means all of them
// (item facts copy the item's name and status into every buyer row).
func touched(p events.Payload) string {
	switch p := p.(type) {
	case *events.Reservation:
		return p.RsvID
	case *events.Payment:
		return p.RsvID
	case *events.ItemScore:
		return "-" // no buyer row shows scores
	}
	return ""
}

// keepOnly drops the buyer rows the event did not touch, so the commit
// writes only what changed.
func (v *view) keepOnly(rsvID string) {
	if rsvID == "" {
		return
	}
	var kept []*PageDeal
	for _, d := range v.deals {
		if d.RsvID == rsvID {
			kept = append(kept, d)
		}
	}
	v.deals = kept
}

// MyPage answers every item that is not deleted, with its deal, one page
// at a time.
func (s *Service) MyPage(ctx context.Context, p Page) ([]PageRow, string, error) {
	return s.Views.Rows(ctx, p)
}

// MyPageRow answers one item's row.
func (s *Service) MyPageRow(ctx context.Context, itemID string) (*PageRow, error) {
	return s.Views.Row(ctx, itemID)
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
