package market

import "time"

// PayStatus is where a payment stands (seed names kept).
type PayStatus string

const (
	PayApproved PayStatus = "APPROVED"
	PayDeleted  PayStatus = "DELETED" // cancelled or refunded
)

// Payment is a buyer's payment for a confirmed reservation.
type Payment struct {
	id          string
	rsvID       string
	itemID      string
	buyerID     string
	sellerID    string
	amount      int64
	status      PayStatus
	version     int64
	createdAt   time.Time
	cancelledAt time.Time
}

// Pay approves the buyer's payment of the price agreed at confirmation for
// a confirmed reservation that holds the item. expected, when not nil, is
// the amount the buyer means to pay: another agreed price is a Conflict and
// nothing is paid.
func Pay(id string, r *Reservation, item *Item, by string, expected *int64, now time.Time) (*Payment, error) {
	if err := r.CheckPay(by); err != nil {
		return nil, err
	}
	if item.ID() != r.ItemID() || item.RsvID() != r.ID() || item.Status() != ItemReserved {
		return nil, Errorf(Conflict, "the item is not reserved for this reservation")
	}
	if expected != nil && *expected != r.agreedPrice {
		return nil, Errorf(Conflict, "the price agreed at confirmation is %d won, not %d", r.agreedPrice, *expected)
	}
	return &Payment{id: id, rsvID: r.ID(), itemID: item.ID(), buyerID: r.BuyerID(), sellerID: r.SellerID(),
		amount: r.agreedPrice, status: PayApproved, createdAt: now}, nil
}

// PaymentState is the stored form of a payment, for adapters only.
type PaymentState struct {
	ID          string
	RsvID       string
	ItemID      string
	BuyerID     string
	SellerID    string
	Amount      int64
	Status      PayStatus
	Version     int64
	CreatedAt   time.Time
	CancelledAt time.Time // zero while approved
}

// RestorePayment rebuilds a payment from storage.
func RestorePayment(s PaymentState) *Payment {
	return &Payment{id: s.ID, rsvID: s.RsvID, itemID: s.ItemID, buyerID: s.BuyerID, sellerID: s.SellerID,
		amount: s.Amount, status: s.Status, version: s.Version, createdAt: s.CreatedAt, cancelledAt: s.CancelledAt}
}

// State returns the stored form of the payment.
func (p *Payment) State() PaymentState {
	return PaymentState{ID: p.id, RsvID: p.rsvID, ItemID: p.itemID, BuyerID: p.buyerID, SellerID: p.sellerID,
		Amount: p.amount, Status: p.status, Version: p.version, CreatedAt: p.createdAt, CancelledAt: p.cancelledAt}
}

func (p *Payment) ID() string             { return p.id }
func (p *Payment) RsvID() string          { return p.rsvID }
func (p *Payment) ItemID() string         { return p.itemID }
func (p *Payment) BuyerID() string        { return p.buyerID }
func (p *Payment) SellerID() string       { return p.sellerID }
func (p *Payment) Amount() int64          { return p.amount }
func (p *Payment) Status() PayStatus      { return p.status }
func (p *Payment) Version() int64         { return p.version }
func (p *Payment) CreatedAt() time.Time   { return p.createdAt }
func (p *Payment) CancelledAt() time.Time { return p.cancelledAt }

// CheckView lets only the buyer and the seller see the payment.
func (p *Payment) CheckView(by string) error {
	if by == "" || (by != p.buyerID && by != p.sellerID) {
		return Errorf(Forbidden, "only the buyer and the seller may see this payment")
	}
	return nil
}

// Cancel cancels the payment: the buyer withdraws or the seller refunds.
// Cancelling a cancelled payment changes nothing and reports false.
func (p *Payment) Cancel(by string, now time.Time) (bool, error) {
	if err := p.CheckView(by); err != nil {
		return false, Errorf(Forbidden, "only the buyer and the seller may cancel this payment")
	}
	if p.status == PayDeleted {
		return false, nil
	}
	p.status, p.cancelledAt = PayDeleted, now
	return true, nil
}
