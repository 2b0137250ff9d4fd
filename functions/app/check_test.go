package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// world is a system holding a deal in every state, its events delivered.
type world struct {
	*system
	paid, reviewed, reserved, cancelled, deleted, onSale                   *market.Item
	paidRsv, reviewedRsv, reservedRsv, backupRsv, cancelledRsv, deletedRsv *market.Reservation
	paidPay, cancelledPay                                                  *market.Payment
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{system: newSystem(t)}
	w.paid, w.paidRsv, w.paidPay = w.system.paid()
	w.reviewed, w.reviewedRsv = w.system.reviewed(4)
	w.reserved = w.item(seller)
	w.reservedRsv = w.confirmed(w.reserved.ID())
	w.backupRsv = w.chat(other, w.reserved.ID())
	w.cancelled, w.cancelledRsv, w.cancelledPay = w.system.paid()
	_, err := w.cmd.CancelPayment(ctx, buyer, w.cancelledPay.ID(), "", "")
	require.NoError(t, err)
	w.deleted = w.item(seller)
	w.deletedRsv = w.chat(buyer, w.deleted.ID())
	require.NoError(t, w.cmd.DeleteItem(ctx, seller, w.deleted.ID()))
	w.onSale = w.item(seller)
	w.deliver()
	return w
}

func (w *world) check() app.Report {
	w.t.Helper()
	rep, err := app.Check(context.Background(), w.store)
	require.NoError(w.t, err)
	return rep
}

// mustBreak commits change as a unit of work on the sources, which the
// store takes as any other: the checker must find what it broke.
func (w *world) mustBreak(change func(app.Tx) error) {
	w.t.Helper()
	_, err := w.store.Update(context.Background(), change)
	require.NoError(w.t, err)
}

func (w *world) mustBreakView(change func(app.ViewTx) error) {
	w.t.Helper()
	require.NoError(w.t, w.store.UpdateView(context.Background(), change))
}

// sources is a break that commits change on the sources (mustBreak).
func sources(change func(w *world, tx app.Tx) error) func(*world) {
	return func(w *world) { w.mustBreak(func(tx app.Tx) error { return change(w, tx) }) }
}

// view is a break that commits change on the view (mustBreakView).
func view(change func(w *world, tx app.ViewTx) error) func(*world) {
	return func(w *world) { w.mustBreakView(func(tx app.ViewTx) error { return change(w, tx) }) }
}

// edit loads an aggregate through load, changes its stored form and saves
// it through save, bypassing its rules as a bug or an operator might.
func edit[S any, A interface{ State() S }](load func(string) (A, error), restore func(S) A, save func(A) int64, id string, change func(*S)) error {
	a, err := load(id)
	if err != nil {
		return err
	}
	st := a.State()
	change(&st)
	save(restore(st))
	return nil
}

func editItem(tx app.Tx, id string, change func(*market.ItemState)) error {
	return edit(tx.Item, market.RestoreItem, tx.SaveItem, id, change)
}

func editRsv(tx app.Tx, id string, change func(*market.ReservationState)) error {
	return edit(tx.Reservation, market.RestoreReservation, tx.SaveReservation, id, change)
}

func editPay(tx app.Tx, id string, change func(*market.PaymentState)) error {
	return edit(tx.Payment, market.RestorePayment, tx.SavePayment, id, change)
}

// editSeller changes the seller's score record as it is stored.
func editSeller(tx app.Tx, id string, change func(*market.Seller)) error {
	sl, err := tx.Seller(id)
	if err != nil {
		return err
	}
	change(sl)
	tx.SaveSeller(sl)
	return nil
}

func TestCheckFindsNothingInAConsistentSystem(t *testing.T) {
	w := newWorld(t)
	rep := w.check()
	assert.Empty(t, rep.Findings)
	assert.True(t, rep.OK())
	assert.Equal(t, 5, rep.Items)
	assert.Equal(t, 5, rep.Rows)
	assert.Equal(t, 6, rep.Deals)
}

func TestCheckFindsEveryBrokenRule(t *testing.T) {
	tests := []struct {
		name   string
		rule   string
		ids    func(w *world) []string
		breaks func(w *world)
	}{
		{"a sold item held by a reservation that is gone", app.RuleItemHeld,
			func(w *world) []string { return []string{"item=" + w.paid.ID(), "rsv=gone"} },
			sources(func(w *world, tx app.Tx) error {
				return editItem(tx, w.paid.ID(), func(s *market.ItemState) { s.RsvID = "gone" })
			})},
		{"a reserved item that names no reservation", app.RuleItemHeld,
			func(w *world) []string { return []string{"item=" + w.reserved.ID()} },
			sources(func(w *world, tx app.Tx) error {
				return editItem(tx, w.reserved.ID(), func(s *market.ItemState) { s.RsvID = "" })
			})},
		{"a sold item held by a confirmed reservation", app.RuleItemHeld,
			func(w *world) []string { return []string{"item=" + w.reserved.ID(), "rsv=" + w.reservedRsv.ID()} },
			sources(func(w *world, tx app.Tx) error {
				return editItem(tx, w.reserved.ID(), func(s *market.ItemState) { s.Status = market.ItemSoldOut })
			})},
		{"an item on sale that a reservation holds", app.RuleItemHeld,
			func(w *world) []string { return []string{"item=" + w.onSale.ID(), "rsv=" + w.paidRsv.ID()} },
			sources(func(w *world, tx app.Tx) error {
				return editItem(tx, w.onSale.ID(), func(s *market.ItemState) { s.RsvID = w.paidRsv.ID() })
			})},
		{"a completed reservation whose item is not sold", app.RuleCompletedPaid,
			func(w *world) []string { return []string{"rsv=" + w.paidRsv.ID(), "item=" + w.paid.ID()} },
			sources(func(w *world, tx app.Tx) error {
				return editItem(tx, w.paid.ID(), func(s *market.ItemState) { s.Status = market.ItemReserved })
			})},
		{"a confirmed reservation that does not hold its item", app.RuleReservationHold,
			func(w *world) []string { return []string{"rsv=" + w.backupRsv.ID(), "item=" + w.reserved.ID()} },
			sources(func(w *world, tx app.Tx) error {
				return editRsv(tx, w.backupRsv.ID(), func(s *market.ReservationState) { s.Status = market.RsvConfirmed })
			})},
		{"two confirmed reservations of one item", app.RuleOneDealPerItem,
			func(w *world) []string {
				return []string{"item=" + w.reserved.ID(), "rsv=" + w.reservedRsv.ID(), "rsv=" + w.backupRsv.ID()}
			},
			sources(func(w *world, tx app.Tx) error {
				return editRsv(tx, w.backupRsv.ID(), func(s *market.ReservationState) { s.Status = market.RsvConfirmed })
			})},
		{"a completed reservation without an approved payment", app.RuleCompletedPaid,
			func(w *world) []string { return []string{"rsv=" + w.paidRsv.ID()} },
			sources(func(w *world, tx app.Tx) error { tx.SetApprovedPayment(w.paidRsv.ID(), ""); return nil })},
		{"a completed reservation whose payment is cancelled", app.RuleCompletedPaid,
			func(w *world) []string { return []string{"rsv=" + w.paidRsv.ID(), "pay=" + w.paidPay.ID()} },
			sources(func(w *world, tx app.Tx) error {
				return editPay(tx, w.paidPay.ID(), func(s *market.PaymentState) { s.Status = market.PayDeleted })
			})},
		{"an approved payment that is not its reservation's", app.RulePaymentApproved,
			func(w *world) []string { return []string{"pay=forged", "rsv=" + w.paidRsv.ID()} },
			sources(func(w *world, tx app.Tx) error {
				st := w.paidPay.State()
				st.ID, st.Version = "forged", 0
				tx.SavePayment(market.RestorePayment(st))
				return nil
			})},
		{"an approved-payment claim naming a payment that is gone", app.RuleApprovedClaim,
			func(w *world) []string { return []string{"rsv=" + w.backupRsv.ID(), "pay=gone"} },
			sources(func(w *world, tx app.Tx) error { tx.SetApprovedPayment(w.backupRsv.ID(), "gone"); return nil })},
		{"an approved-payment claim naming a cancelled payment", app.RuleApprovedClaim,
			func(w *world) []string { return []string{"rsv=" + w.cancelledRsv.ID(), "pay=" + w.cancelledPay.ID()} },
			sources(func(w *world, tx app.Tx) error {
				tx.SetApprovedPayment(w.cancelledRsv.ID(), w.cancelledPay.ID())
				return nil
			})},
		{"an open-chat claim naming a reservation that is gone", app.RuleOpenChatClaim,
			func(w *world) []string { return []string{"item=" + w.onSale.ID(), "rsv=gone"} },
			sources(func(w *world, tx app.Tx) error { tx.SetOpenChat(w.onSale.ID(), other, "gone"); return nil })},
		{"an open-chat claim naming another buyer's reservation", app.RuleOpenChatClaim,
			func(w *world) []string { return []string{"item=" + w.reserved.ID(), "rsv=" + w.reservedRsv.ID()} },
			sources(func(w *world, tx app.Tx) error {
				tx.SetOpenChat(w.reserved.ID(), "u-third", w.reservedRsv.ID())
				return nil
			})},
		{"a payment of another amount than the agreed price", app.RuleAgreedPrice,
			func(w *world) []string { return []string{"pay=" + w.paidPay.ID(), "rsv=" + w.paidRsv.ID()} },
			sources(func(w *world, tx app.Tx) error {
				return editRsv(tx, w.paidRsv.ID(), func(s *market.ReservationState) { s.AgreedPrice++ })
			})},
		{"a review of a deal whose payment is not approved", app.RuleReviewPaid,
			func(w *world) []string { return []string{"rsv=" + w.reviewedRsv.ID()} },
			sources(func(w *world, tx app.Tx) error { tx.SetApprovedPayment(w.reviewedRsv.ID(), ""); return nil })},
		{"an item score that is not its reviews'", app.RuleItemScore,
			func(w *world) []string { return []string{"item=" + w.reviewed.ID()} },
			sources(func(w *world, tx app.Tx) error {
				return editItem(tx, w.reviewed.ID(), func(s *market.ItemState) { s.ScoreSum++ })
			})},
		{"a review count on an item without reviews", app.RuleItemScore,
			func(w *world) []string { return []string{"item=" + w.onSale.ID()} },
			sources(func(w *world, tx app.Tx) error {
				return editItem(tx, w.onSale.ID(), func(s *market.ItemState) { s.ScoreSum, s.ReviewCount = 5, 1 })
			})},
		{"a seller score that is not their items' reviews'", app.RuleSellerScore,
			func(w *world) []string { return []string{"seller=" + seller} },
			sources(func(w *world, tx app.Tx) error {
				return editSeller(tx, seller, func(sl *market.Seller) { sl.ReviewCount++ })
			})},
		{"a seller's count of a score that is not their reviews'", app.RuleSellerScore,
			func(w *world) []string { return []string{"seller=" + seller} },
			sources(func(w *world, tx app.Tx) error {
				return editSeller(tx, seller, func(sl *market.Seller) { sl.Scores[market.MaxScore-1]--; sl.Scores[0]++ })
			})},
		{"a view row that disagrees with its item", app.RuleViewRow,
			func(w *world) []string { return []string{"item=" + w.paid.ID()} },
			view(func(w *world, tx app.ViewTx) error {
				row, err := tx.Row(w.paid.ID())
				if err != nil {
					return err
				}
				row.ItemStatus, row.PayStatus = "CREATED", ""
				tx.SaveRow(row)
				return nil
			})},
		{"a view row that is missing", app.RuleViewRow,
			func(w *world) []string { return []string{"item=" + w.onSale.ID()} },
			view(func(w *world, tx app.ViewTx) error {
				row, err := tx.Row(w.onSale.ID())
				if err != nil {
					return err
				}
				tx.DeleteRow(row)
				return nil
			})},
		{"a view row of an item that is gone", app.RuleViewRow,
			func(w *world) []string { return []string{"item=ghost"} },
			view(func(w *world, tx app.ViewTx) error {
				tx.SaveRow(&app.PageRow{ItemID: "ghost", ItemName: "ghost", ItemStatus: "CREATED"})
				return nil
			})},
		{"a buyer's row that is missing", app.RuleViewDeal,
			func(w *world) []string { return []string{"item=" + w.reserved.ID(), "rsv=" + w.backupRsv.ID()} },
			view(func(w *world, tx app.ViewTx) error {
				deals, err := tx.Deals(w.reserved.ID())
				if err != nil {
					return err
				}
				for _, d := range deals {
					if d.RsvID == w.backupRsv.ID() {
						tx.DeleteDeal(&d)
					}
				}
				return nil
			})},
		{"a buyer's row that shows a stale payment", app.RuleViewDeal,
			func(w *world) []string { return []string{"item=" + w.cancelled.ID(), "rsv=" + w.cancelledRsv.ID()} },
			view(func(w *world, tx app.ViewTx) error {
				deals, err := tx.Deals(w.cancelled.ID())
				if err != nil {
					return err
				}
				d := deals[0]
				d.PayStatus = string(market.PayApproved)
				tx.SaveDeal(&d)
				return nil
			})},
		{"a buyer's row of a reservation that is gone", app.RuleViewDeal,
			func(w *world) []string { return []string{"item=" + w.onSale.ID(), "rsv=gone"} },
			view(func(w *world, tx app.ViewTx) error {
				tx.SaveDeal(&app.PageDeal{ItemID: w.onSale.ID(), RsvID: "gone", BuyerID: buyer, RsvStatus: "CREATED"})
				return nil
			})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			require.Empty(t, w.check().Findings)
			tc.breaks(w)
			rep := w.check()
			want := tc.ids(w)
			assert.True(t, slices.ContainsFunc(rep.Findings, func(f app.Finding) bool {
				return f.Rule == tc.rule && !slices.ContainsFunc(want, func(id string) bool { return !slices.Contains(f.IDs, id) })
			}), "no %s finding about %v in:\n%s", tc.rule, want, lines(rep))
		})
	}
}

func lines(rep app.Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}
