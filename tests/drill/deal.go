package drill

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/carrot-market/carrot/tests/system"
)

// The steps of a deal through the public API. Each returns an error when
// the answer is not the one the step needs: a drill cannot go on without
// its set-up.

// registerItem lists an item of seller and returns its id.
func (r *run) registerItem(ctx context.Context, seller, name string, price int) (string, error) {
	res := r.do(ctx, seller, http.MethodPost, "/items", map[string]any{"name": name, "category": "drill", "price": price})
	var out struct{ ItemID string }
	return out.ItemID, expect(res, "register item "+name, &out, http.StatusCreated)
}

// requestChat opens (or finds) buyer's reservation on itemID.
func (r *run) requestChat(ctx context.Context, buyer, itemID string) (string, error) {
	res := r.do(ctx, buyer, http.MethodPost, "/reservations", map[string]any{"itemId": itemID})
	var out struct{ RsvID string }
	return out.RsvID, expect(res, "request chat on "+itemID, &out, http.StatusCreated, http.StatusOK)
}

// confirm has seller confirm rsvID.
func (r *run) confirm(ctx context.Context, seller, rsvID string) error {
	res := r.do(ctx, seller, http.MethodPatch, "/reservations/"+rsvID, confirmation())
	return expect(res, "confirm "+rsvID, nil, http.StatusOK)
}

func confirmation() map[string]any {
	return map[string]any{"rsvStatus": "CONFIRMED", "rsvDate": system.Day(30), "rsvTime": "18:30", "rsvPlace": "Hapjeong station exit 3"}
}

// pay has buyer pay rsvID and returns the payment's id.
func (r *run) pay(ctx context.Context, buyer, rsvID string) (string, error) {
	res := r.do(ctx, buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
	var out struct{ PayID string }
	return out.PayID, expect(res, "pay "+rsvID, &out, http.StatusCreated)
}

// dealUpTo runs a deal of seller and buyer on a new item up to step
// ("chat", "confirm" or "pay") and returns its ids.
func (r *run) dealUpTo(ctx context.Context, seller, buyer, name, step string) (deal, error) {
	var d deal
	var err error
	if d.item, err = r.registerItem(ctx, seller, name, 10000); err != nil {
		return d, err
	}
	if d.rsv, err = r.requestChat(ctx, buyer, d.item); err != nil || step == "chat" {
		return d, err
	}
	if err = r.confirm(ctx, seller, d.rsv); err != nil || step == "confirm" {
		return d, err
	}
	d.pay, err = r.pay(ctx, buyer, d.rsv)
	return d, err
}

// dealGoal names a deal and the step dealUpTo runs it to.
type dealGoal struct{ name, step string }

// dealsUpTo runs one deal of seller and buyer per goal, in order, as
// dealUpTo does, and returns their ids in the same order.
func (r *run) dealsUpTo(ctx context.Context, seller, buyer string, goals ...dealGoal) ([]deal, error) {
	deals := make([]deal, 0, len(goals))
	for _, g := range goals {
		d, err := r.dealUpTo(ctx, seller, buyer, g.name, g.step)
		if err != nil {
			return nil, err
		}
		deals = append(deals, d)
	}
	return deals, nil
}

// deal is the ids of one deal.
type deal struct{ item, rsv, pay string }

// expect checks that res has one of statuses and decodes it into out
// (nil skips decoding).
func expect(res system.Response, what string, out any, statuses ...int) error {
	for _, s := range statuses {
		if res.Status == s {
			if out == nil {
				return nil
			}
			return res.Decode(out)
		}
	}
	return fmt.Errorf("%s: want %v, got %s", what, statuses, res)
}

// page is a MyPage row, as far as the drills read it.
type page struct {
	ItemID      string `json:"itemId"`
	ItemName    string `json:"itemName"`
	ItemStatus  string `json:"itemStatus"`
	RsvID       string `json:"rsvId"`
	RsvStatus   string `json:"rsvStatus"`
	PayID       string `json:"payId"`
	PayStatus   string `json:"payStatus"`
	OpenChats   int    `json:"openChats"`
	ReviewCount int    `json:"reviewCount"`
}

// eventuallyPage waits until user's GET /myPages/{itemID} satisfies ok,
// within Options.Settle, and returns the last row read.
func (r *run) eventuallyPage(ctx context.Context, user, itemID string, ok func(page) bool) (page, error) {
	var row page
	err := eventually(ctx, r.opts.Settle, func() error {
		res := r.env.Do(ctx, user, http.MethodGet, "/myPages/"+itemID, nil)
		if err := expect(res, "MyPage of "+itemID, &row, http.StatusOK); err != nil {
			return err
		}
		if !ok(row) {
			return fmt.Errorf("MyPage of %s shows %+v", itemID, row)
		}
		return nil
	})
	return row, err
}

// retrying sends a request until it answers 2xx, as a client honouring
// Retry-After would, within Options.Settle; it returns the last answer.
func (r *run) retrying(ctx context.Context, user, method, path string, body any) system.Response {
	var res system.Response
	_ = eventually(ctx, r.opts.Settle, func() error {
		res = r.do(ctx, user, method, path, body)
		if res.OK() {
			return nil
		}
		if res.Status == http.StatusServiceUnavailable {
			_ = sleep(ctx, 500*time.Millisecond)
		}
		return fmt.Errorf("%s %s: %s", method, path, res)
	})
	return res
}
