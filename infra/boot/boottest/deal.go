package boottest

import (
	"net/http"
	"testing"
	"time"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/functions/registry"
)

// The cast of the component tests. Seller lists the items, Buyer reserves
// and pays for them, and Outsider takes part in no deal, so that every
// refusal of a stranger is asked as the same person. A test that needs
// more people (a back-up buyer, a second seller) names them where it uses
// them.
const (
	Seller   = "sally"
	Buyer    = "bob"
	Outsider = "olga"
)

// The steps of a deal, each through the function that owns its route. Each
// requires the answer a step that works gives, so a test that needs a deal
// in some state stops where the deal could not be built.

// MustItem registers an item for sellerID through register-item, requires
// 201 and returns the item's id. item is the body of POST /items.
func (s *System) MustItem(tb testing.TB, sellerID string, item map[string]any) string {
	tb.Helper()
	return s.MustCall(tb, registry.RegisterItem.Name, sellerID, http.MethodPost, "/items", item, http.StatusCreated)["itemId"].(string)
}

// MustChat opens buyerID's chat on itemID through request-chat, requires
// 201 (a new reservation, not the open one answered again) and returns the
// reservation's id.
func (s *System) MustChat(tb testing.TB, buyerID, itemID string) string {
	tb.Helper()
	return s.MustCall(tb, registry.RequestChat.Name, buyerID, http.MethodPost, "/reservations", map[string]any{"itemId": itemID}, http.StatusCreated)["rsvId"].(string)
}

// MustConfirm has sellerID confirm rsvID with meeting (see Meeting) through
// confirm-reservation and requires 200.
func (s *System) MustConfirm(tb testing.TB, sellerID, rsvID string, meeting map[string]any) {
	tb.Helper()
	s.MustCall(tb, registry.ConfirmReservation.Name, sellerID, http.MethodPatch, "/reservations/"+rsvID, meeting, http.StatusOK)
}

// MustPay has buyerID pay rsvID through pay, requires 201 and returns the
// payment's id.
func (s *System) MustPay(tb testing.TB, buyerID, rsvID string) string {
	tb.Helper()
	return s.MustCall(tb, registry.Pay.Name, buyerID, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID}, http.StatusCreated)["payId"].(string)
}

// MustConfirmedDeal registers item for sellerID, opens buyerID's chat on
// it and has the seller confirm meeting, as MustItem, MustChat and
// MustConfirm do; it returns the item's and the reservation's ids.
func (s *System) MustConfirmedDeal(tb testing.TB, sellerID, buyerID string, item, meeting map[string]any) (itemID, rsvID string) {
	tb.Helper()
	itemID = s.MustItem(tb, sellerID, item)
	rsvID = s.MustChat(tb, buyerID, itemID)
	s.MustConfirm(tb, sellerID, rsvID, meeting)
	return itemID, rsvID
}

// MustPaidDeal is MustConfirmedDeal followed by the buyer's MustPay; it
// returns the item's, the reservation's and the payment's ids.
func (s *System) MustPaidDeal(tb testing.TB, sellerID, buyerID string, item, meeting map[string]any) (itemID, rsvID, payID string) {
	tb.Helper()
	itemID, rsvID = s.MustConfirmedDeal(tb, sellerID, buyerID, item, meeting)
	return itemID, rsvID, s.MustPay(tb, buyerID, rsvID)
}

// Day is the date n days after today in Seoul, the marketplace's time
// (market.Seoul), as YYYY-MM-DD: a meeting on it stays ahead whenever the
// test runs, as a meeting must.
func Day(n int) string {
	return time.Now().In(market.Seoul).AddDate(0, 0, n).Format(time.DateOnly)
}

// Meeting is the body of PATCH /reservations/{rsvId} that confirms a
// meeting on date (YYYY-MM-DD) at clock (HH:MM) at place. Every field is
// sent, an empty place too; the values are not checked here, so that a test
// can send bad ones.
func Meeting(date, clock, place string) map[string]any {
	return map[string]any{"rsvStatus": "CONFIRMED", "rsvDate": date, "rsvTime": clock, "rsvPlace": place}
}

// MustGetItem reads itemID through register-item without a token, as
// anyone sees it, and requires 200.
func (s *System) MustGetItem(tb testing.TB, itemID string) map[string]any {
	tb.Helper()
	return s.MustCall(tb, registry.RegisterItem.Name, "", http.MethodGet, "/items/"+itemID, nil, http.StatusOK)
}

// MustGetReservation reads rsvID through request-chat as userID, one of
// its two sides, and requires 200.
func (s *System) MustGetReservation(tb testing.TB, userID, rsvID string) map[string]any {
	tb.Helper()
	return s.MustCall(tb, registry.RequestChat.Name, userID, http.MethodGet, "/reservations/"+rsvID, nil, http.StatusOK)
}

// MustGetPayment reads payID through pay as userID, one of the two sides
// of its deal, and requires 200.
func (s *System) MustGetPayment(tb testing.TB, userID, payID string) map[string]any {
	tb.Helper()
	return s.MustCall(tb, registry.Pay.Name, userID, http.MethodGet, "/payments/"+payID, nil, http.StatusOK)
}
