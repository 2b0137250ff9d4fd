package app

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/carrot-market/carrot/functions/market"
)

// Snapshot is what carrot's tables hold, read whole by an operator tool
// (Scanner). Each table is read on its own, so on a running system a
// snapshot is no consistent cut: what a command or an event changed
// between two reads may show as broken. Check a system at rest, or check
// again what it finds.
type Snapshot struct {
	Items        map[string]*market.Item
	Reservations map[string]*market.Reservation
	Payments     map[string]*market.Payment
	Reviews      map[string]market.Review // by reservation
	Sellers      map[string]market.Seller
	OpenChats    map[OpenChat]string // the open reservation per item and buyer (claims)
	Approved     map[string]string   // the approved payment per reservation (claims)
	Rows         map[string]PageRow
	Deals        map[string]map[string]PageDeal // by item, then reservation
}

// OpenChat keys the open-chat claim of one buyer on one item.
type OpenChat struct{ ItemID, BuyerID string }

// Scanner reads every row of carrot's tables. It is an operator's port for
// the checker and the view rebuild: a scan reads whole tables, so no
// request may use it.
type Scanner interface {
	Snapshot(ctx context.Context) (*Snapshot, error)
}

// Finding is one broken rule: its name, the ids it concerns ("item=...",
// "rsv=...", "pay=...", "seller=...") and what is wrong.
type Finding struct {
	Rule   string   `json:"rule"`
	IDs    []string `json:"ids"`
	Detail string   `json:"detail"`
}

// String is the finding on one line: rule, ids, detail.
func (f Finding) String() string {
	return f.Rule + " " + strings.Join(f.IDs, " ") + ": " + f.Detail
}

// Report is what Check found, in a stable order, and how much it read.
type Report struct {
	Items        int       `json:"items"`
	Reservations int       `json:"reservations"`
	Payments     int       `json:"payments"`
	Reviews      int       `json:"reviews"`
	Rows         int       `json:"rows"`
	Deals        int       `json:"deals"`
	Findings     []Finding `json:"findings"`
}

// OK reports whether every rule holds.
func (r Report) OK() bool { return len(r.Findings) == 0 }

// The rules Check checks (SPEC section 3), as findings name them.
const (
	RuleItemHeld        = "item-held"         // a RESERVED/SOLDOUT item's rsvId is its CONFIRMED/COMPLETED reservation; a CREATED one has none
	RuleReservationHold = "reservation-holds" // a CONFIRMED/COMPLETED reservation holds its item
	RuleOneDealPerItem  = "one-deal-per-item" // at most one CONFIRMED or COMPLETED reservation per item
	RuleCompletedPaid   = "completed-paid"    // a COMPLETED reservation has its approved payment, and only it has one
	RulePaymentApproved = "payment-approved"  // an APPROVED payment is its reservation's approved claim
	RuleApprovedClaim   = "approved-claim"    // an approved-payment claim names an APPROVED payment of that reservation
	RuleOpenChatClaim   = "open-chat-claim"   // an open-chat claim names a reservation of that item and buyer
	RuleAgreedPrice     = "agreed-price"      // a payment's amount is its reservation's agreed price
	RuleReviewPaid      = "review-paid"       // a review's reservation is COMPLETED with an APPROVED payment
	RuleItemScore       = "item-score"        // an item's score and review count are its reviews'
	RuleSellerScore     = "seller-score"      // a seller's score, review count and count per score are their items' reviews'
	RuleViewRow         = "view-row"          // an item's MyPage row is what the projector makes of its sources
	RuleViewDeal        = "view-deal"         // a buyer's MyPage row is what the projector makes of its sources
)

// Check reads everything through sc and lists every rule of SPEC section
// 3 that does not hold, MyPage included (CheckSnapshot).
func Check(ctx context.Context, sc Scanner) (Report, error) {
	snap, err := sc.Snapshot(ctx)
	if err != nil {
		return Report{}, err
	}
	return CheckSnapshot(snap), nil
}

// CheckSnapshot lists every broken rule of snap. A view row is broken when
// the projector, given the sources of its item as snap holds them, would
// write it otherwise (ItemSources.Follow); when it changed is not compared.
func CheckSnapshot(snap *Snapshot) Report {
	c := &checker{snap: snap}
	c.items()
	c.reservations()
	c.payments()
	c.claims()
	c.reviews()
	c.view()
	slices.SortFunc(c.found, func(a, b Finding) int {
		return strings.Compare(a.Rule+strings.Join(a.IDs, " ")+a.Detail, b.Rule+strings.Join(b.IDs, " ")+b.Detail)
	})
	deals := 0
	for _, ds := range snap.Deals {
		deals += len(ds)
	}
	return Report{Items: len(snap.Items), Reservations: len(snap.Reservations), Payments: len(snap.Payments),
		Reviews: len(snap.Reviews), Rows: len(snap.Rows), Deals: deals, Findings: c.found}
}

type checker struct {
	snap  *Snapshot
	found []Finding
}

func (c *checker) add(rule, detail string, ids ...string) {
	c.found = append(c.found, Finding{Rule: rule, IDs: ids, Detail: detail})
}

func itemID(id string) string   { return "item=" + id }
func rsvID(id string) string    { return "rsv=" + id }
func payID(id string) string    { return "pay=" + id }
func sellerID(id string) string { return "seller=" + id }

// holds is the reservation status that holds an item in each held status.
var holds = map[market.ItemStatus]market.RsvStatus{
	market.ItemReserved: market.RsvConfirmed,
	market.ItemSoldOut:  market.RsvCompleted,
}

func (c *checker) items() {
	for _, id := range slices.Sorted(maps.Keys(c.snap.Items)) {
		it := c.snap.Items[id]
		want, held := holds[it.Status()]
		switch {
		case !held && it.RsvID() != "":
			c.add(RuleItemHeld, fmt.Sprintf("a %s item is held by reservation %s", it.Status(), it.RsvID()), itemID(id), rsvID(it.RsvID()))
		case held && it.RsvID() == "":
			c.add(RuleItemHeld, fmt.Sprintf("a %s item names no reservation", it.Status()), itemID(id))
		case held:
			r := c.snap.Reservations[it.RsvID()]
			switch {
			case r == nil:
				c.add(RuleItemHeld, fmt.Sprintf("a %s item is held by reservation %s, which is gone", it.Status(), it.RsvID()), itemID(id), rsvID(it.RsvID()))
			case r.ItemID() != id:
				c.add(RuleItemHeld, fmt.Sprintf("held by reservation %s of item %s", r.ID(), r.ItemID()), itemID(id), rsvID(r.ID()))
			case r.Status() != want:
				c.add(RuleItemHeld, fmt.Sprintf("a %s item is held by a %s reservation (want %s)", it.Status(), r.Status(), want), itemID(id), rsvID(r.ID()))
			}
		}
	}
}

func (c *checker) reservations() {
	deals := map[string][]string{} // item → its CONFIRMED or COMPLETED reservations
	for _, id := range slices.Sorted(maps.Keys(c.snap.Reservations)) {
		r := c.snap.Reservations[id]
		if r.Status() != market.RsvConfirmed && r.Status() != market.RsvCompleted {
			if p := c.snap.Approved[id]; p != "" {
				c.add(RuleCompletedPaid, fmt.Sprintf("a %s reservation has the approved payment %s", r.Status(), p), rsvID(id), payID(p))
			}
			continue
		}
		deals[r.ItemID()] = append(deals[r.ItemID()], id)
		it := c.snap.Items[r.ItemID()]
		switch {
		case it == nil:
			c.add(RuleReservationHold, fmt.Sprintf("a %s reservation of item %s, which is gone", r.Status(), r.ItemID()), rsvID(id), itemID(r.ItemID()))
		case it.RsvID() != id:
			c.add(RuleReservationHold, fmt.Sprintf("a %s reservation does not hold its item (held by %q)", r.Status(), it.RsvID()), rsvID(id), itemID(r.ItemID()))
		}
		claim := c.snap.Approved[id]
		if r.Status() == market.RsvConfirmed {
			if claim != "" {
				c.add(RuleCompletedPaid, fmt.Sprintf("a CONFIRMED reservation has the approved payment %s", claim), rsvID(id), payID(claim))
			}
			continue
		}
		if it != nil && it.RsvID() == id && it.Status() != market.ItemSoldOut {
			c.add(RuleCompletedPaid, fmt.Sprintf("a COMPLETED reservation's item is %s, not SOLDOUT", it.Status()), rsvID(id), itemID(it.ID()))
		}
		p := c.snap.Payments[r.PayID()]
		switch {
		case claim == "":
			c.add(RuleCompletedPaid, "a COMPLETED reservation has no approved payment", rsvID(id))
		case claim != r.PayID():
			c.add(RuleCompletedPaid, fmt.Sprintf("paid by %q, but its approved payment is %s", r.PayID(), claim), rsvID(id), payID(claim))
		case p == nil:
			c.add(RuleCompletedPaid, fmt.Sprintf("paid by payment %s, which is gone", r.PayID()), rsvID(id), payID(r.PayID()))
		case p.Status() != market.PayApproved:
			c.add(RuleCompletedPaid, fmt.Sprintf("paid by payment %s, which is %s", p.ID(), p.Status()), rsvID(id), payID(p.ID()))
		}
	}
	for _, item := range slices.Sorted(maps.Keys(deals)) {
		if ids := deals[item]; len(ids) > 1 {
			refs := []string{itemID(item)}
			for _, id := range ids {
				refs = append(refs, rsvID(id))
			}
			c.add(RuleOneDealPerItem, fmt.Sprintf("%d reservations are CONFIRMED or COMPLETED", len(ids)), refs...)
		}
	}
}

func (c *checker) payments() {
	for _, id := range slices.Sorted(maps.Keys(c.snap.Payments)) {
		p := c.snap.Payments[id]
		r := c.snap.Reservations[p.RsvID()]
		if p.Status() == market.PayApproved && c.snap.Approved[p.RsvID()] != id {
			c.add(RulePaymentApproved, fmt.Sprintf("APPROVED, but reservation %s's approved payment is %q", p.RsvID(), c.snap.Approved[p.RsvID()]), payID(id), rsvID(p.RsvID()))
		}
		if r != nil && r.AgreedPrice() != p.Amount() {
			c.add(RuleAgreedPrice, fmt.Sprintf("amount %d, agreed price %d", p.Amount(), r.AgreedPrice()), payID(id), rsvID(r.ID()))
		}
	}
}

func (c *checker) claims() {
	for _, rsv := range slices.Sorted(maps.Keys(c.snap.Approved)) {
		pay := c.snap.Approved[rsv]
		p := c.snap.Payments[pay]
		switch {
		case c.snap.Reservations[rsv] == nil:
			c.add(RuleApprovedClaim, "the approved payment of a reservation that is gone", rsvID(rsv), payID(pay))
		case p == nil:
			c.add(RuleApprovedClaim, "names a payment that is gone", rsvID(rsv), payID(pay))
		case p.RsvID() != rsv:
			c.add(RuleApprovedClaim, fmt.Sprintf("names a payment of reservation %s", p.RsvID()), rsvID(rsv), payID(pay))
		case p.Status() != market.PayApproved:
			c.add(RuleApprovedClaim, fmt.Sprintf("names a %s payment", p.Status()), rsvID(rsv), payID(pay))
		}
	}
	keys := slices.SortedFunc(maps.Keys(c.snap.OpenChats), func(a, b OpenChat) int {
		return strings.Compare(a.ItemID+"|"+a.BuyerID, b.ItemID+"|"+b.BuyerID)
	})
	for _, k := range keys {
		rsv := c.snap.OpenChats[k]
		r := c.snap.Reservations[rsv]
		switch {
		case r == nil:
			c.add(RuleOpenChatClaim, fmt.Sprintf("buyer %s's open chat is gone", k.BuyerID), itemID(k.ItemID), rsvID(rsv))
		case r.ItemID() != k.ItemID || r.BuyerID() != k.BuyerID:
			c.add(RuleOpenChatClaim, fmt.Sprintf("buyer %s's open chat is buyer %s's on item %s", k.BuyerID, r.BuyerID(), r.ItemID()), itemID(k.ItemID), rsvID(rsv))
		}
	}
}

// score is a sum of review scores and their number.
type score struct{ sum, count int }

func (c *checker) reviews() {
	byItem, bySeller := map[string]score{}, map[string]market.Seller{}
	for _, rsv := range slices.Sorted(maps.Keys(c.snap.Reviews)) {
		rv := c.snap.Reviews[rsv]
		s := byItem[rv.ItemID]
		byItem[rv.ItemID] = score{s.sum + rv.Score, s.count + 1}
		sl := bySeller[rv.SellerID]
		sl.AddReview(rv.Score)
		bySeller[rv.SellerID] = sl
		r := c.snap.Reservations[rsv]
		pay := c.snap.Approved[rsv]
		p := c.snap.Payments[pay]
		switch {
		case r == nil:
			c.add(RuleReviewPaid, "the review of a reservation that is gone", rsvID(rsv), "review="+rv.ID)
		case r.Status() != market.RsvCompleted:
			c.add(RuleReviewPaid, fmt.Sprintf("the review of a %s reservation", r.Status()), rsvID(rsv), "review="+rv.ID)
		case p == nil || p.Status() != market.PayApproved:
			c.add(RuleReviewPaid, fmt.Sprintf("the review of a reservation without an approved payment (claim %q)", pay), rsvID(rsv), "review="+rv.ID)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(c.snap.Items)) {
		st := c.snap.Items[id].State()
		if want := byItem[id]; st.ScoreSum != want.sum || st.ReviewCount != want.count {
			c.add(RuleItemScore, fmt.Sprintf("score sum %d of %d reviews, its reviews sum %d of %d", st.ScoreSum, st.ReviewCount, want.sum, want.count), itemID(id))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(unionKeys(c.snap.Sellers, bySeller))) {
		got, want := c.snap.Sellers[id], bySeller[id]
		if got.ScoreSum != want.ScoreSum || got.ReviewCount != want.ReviewCount || got.Scores != want.Scores {
			c.add(RuleSellerScore, fmt.Sprintf("score sum %d of %d reviews counted by score %v, their items' reviews sum %d of %d counted %v",
				got.ScoreSum, got.ReviewCount, got.Scores, want.ScoreSum, want.ReviewCount, want.Scores), sellerID(id))
		}
	}
}

// view compares every item's part of MyPage with what the projector makes
// of its sources.
func (c *checker) view() {
	for _, id := range c.snap.ViewItems() {
		cur := c.snap.ItemView(id)
		want := c.snap.ItemSources(id).Follow(cur, time.Time{})
		c.diffRow(id, cur.Row, want.Row)
		for _, rsv := range slices.Sorted(maps.Keys(unionKeys(cur.Deals, want.Deals))) {
			got, ok := cur.Deals[rsv]
			exp, keep := want.Deals[rsv]
			switch {
			case !keep:
				c.add(RuleViewDeal, "a buyer's row of a reservation that is gone", itemID(id), rsvID(rsv))
			case !ok:
				c.add(RuleViewDeal, "missing: "+fields(exp), itemID(id), rsvID(rsv))
			default:
				if d := diff(got, exp); d != "" {
					c.add(RuleViewDeal, d, itemID(id), rsvID(rsv))
				}
			}
		}
	}
}

func (c *checker) diffRow(id string, got, want *PageRow) {
	switch {
	case got == nil && want == nil:
	case want == nil:
		c.add(RuleViewRow, "the row of an item that is gone", itemID(id))
	case got == nil:
		c.add(RuleViewRow, "missing: "+fields(*want), itemID(id))
	default:
		if d := diff(*got, *want); d != "" {
			c.add(RuleViewRow, d, itemID(id))
		}
	}
}

// diff lists the fields where got differs from want, as "field got → want",
// leaving out when the row changed and its version.
func diff[T any](got, want T) string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	var out []string
	for i := range g.NumField() {
		name := g.Type().Field(i).Name
		if name == "UpdatedAt" || name == "Version" {
			continue
		}
		if a, b := g.Field(i).Interface(), w.Field(i).Interface(); a != b {
			out = append(out, fmt.Sprintf("%s %v → %v", name, a, b))
		}
	}
	return strings.Join(out, ", ")
}

// fields shows a row's fields that are set, leaving out when it changed
// and its version.
func fields[T any](row T) string {
	v := reflect.ValueOf(row)
	var out []string
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "UpdatedAt" || name == "Version" || v.Field(i).IsZero() {
			continue
		}
		out = append(out, fmt.Sprintf("%s %v", name, v.Field(i).Interface()))
	}
	return strings.Join(out, ", ")
}

func unionKeys[A, B any](a map[string]A, b map[string]B) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}
