package memory

import (
	"context"
	"maps"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

var _ app.Scanner = (*Store)(nil)

// Snapshot implements app.Scanner: every map, copied under the store's
// lock, so it is one consistent cut (DynamoDB's is not).
func (s *Store) Snapshot(_ context.Context) (*app.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := &app.Snapshot{
		Items: map[string]*market.Item{}, Reservations: map[string]*market.Reservation{},
		Payments: map[string]*market.Payment{}, Reviews: maps.Clone(s.reviews), Sellers: maps.Clone(s.sellers),
		OpenChats: map[app.OpenChat]string{}, Approved: maps.Clone(s.approved),
		Rows: maps.Clone(s.rows), Deals: map[string]map[string]app.PageDeal{},
	}
	for id, st := range s.items {
		snap.Items[id] = restoreItem(st)
	}
	for id, st := range s.reservations {
		snap.Reservations[id] = market.RestoreReservation(st)
	}
	for id, st := range s.payments {
		snap.Payments[id] = market.RestorePayment(st)
	}
	for k, rsvID := range s.openChats {
		snap.OpenChats[app.OpenChat{ItemID: k.itemID, BuyerID: k.buyerID}] = rsvID
	}
	for itemID, deals := range s.deals {
		if len(deals) > 0 {
			snap.Deals[itemID] = maps.Clone(deals)
		}
	}
	return snap, nil
}
