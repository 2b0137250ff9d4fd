package market

import (
	"time"
)

// RsvStatus is where a reservation stands (seed names kept).
type RsvStatus string

const (
	RsvCreated   RsvStatus = "CREATED"   // the chat is open
	RsvConfirmed RsvStatus = "CONFIRMED" // the seller fixed a meeting; the item is held
	RsvCompleted RsvStatus = "COMPLETED" // the buyer paid
)

// Field limits of a reservation and its chat.
const (
	MaxRsvPlace    = 200
	MaxMessageText = 2000
)

// Meeting is when and where buyer and seller meet.
type Meeting struct {
	Date  string // YYYY-MM-DD
	Time  string // HH:MM, 24-hour
	Place string
}

// Validate requires a real calendar date and clock time; the place may be
// empty when the chat already agreed on it.
func (m Meeting) Validate() error {
	var f Fields
	if _, err := time.Parse("2006-01-02", m.Date); err != nil {
		f.Add("rsvDate", "must be a date as YYYY-MM-DD")
	}
	if _, err := time.Parse("15:04", m.Time); err != nil || len(m.Time) != 5 {
		f.Add("rsvTime", "must be a time as HH:MM")
	}
	meetingPlace.check(&f, "rsvPlace", m.Place)
	return f.Err()
}

// Seoul is the marketplace's local time, in which a meeting's date and
// time are given. Korea keeps no daylight saving time, so a fixed +09:00
// zone is exact and needs no time zone database in the images.
var Seoul = time.FixedZone("Asia/Seoul", 9*60*60)

// ValidateAt is Validate for a meeting fixed at now: the meeting must
// also lie ahead of now in Seoul time (the current minute counts as
// ahead), and no later than the same day a year from now: a later date,
// such as year 9999, is a typing mistake, not a plan to hand over an
// item. A meeting on an earlier day names rsvDate; one earlier today
// names rsvTime.
func (m Meeting) ValidateAt(now time.Time) error {
	if err := m.Validate(); err != nil {
		return err
	}
	now = now.In(Seoul)
	at, _ := time.ParseInLocation("2006-01-02 15:04", m.Date+" "+m.Time, Seoul) // Validate parsed both
	today, last := now.Format(time.DateOnly), now.AddDate(1, 0, 0).Format(time.DateOnly)
	var f Fields
	switch {
	case m.Date < today:
		f.Add("rsvDate", "must not be in the past: it is %s in Seoul (UTC+09:00)", now.Format("2006-01-02 15:04"))
	case at.Before(now.Truncate(time.Minute)):
		f.Add("rsvTime", "must not be in the past: it is %s in Seoul (UTC+09:00)", now.Format("2006-01-02 15:04"))
	case m.Date > last:
		f.Add("rsvDate", "must be at most a year ahead: %s at the latest", last)
	}
	return f.Err()
}

// Reservation is the chat room between one buyer and the item's seller,
// which becomes the deal once the seller confirms a meeting.
type Reservation struct {
	id       string
	itemID   string
	buyerID  string
	sellerID string
	status   RsvStatus
	meeting  Meeting
	payID    string // the approved payment while COMPLETED
	// agreedPrice is the item's price when the seller confirmed, what the
	// buyer pays (SPEC 3.1: the price is agreed at confirmation).
	agreedPrice int64
	version     int64
	createdAt   time.Time
	updatedAt   time.Time
}

// RequestChat opens a reservation of item for buyerID. A chat on a sold
// item or on one's own item is refused; a reserved item may still get
// chats from back-up buyers.
func RequestChat(id string, item *Item, buyerID, place string, now time.Time) (*Reservation, error) {
	var f Fields
	meetingPlace.check(&f, "rsvPlace", place)
	if err := f.Err(); err != nil {
		return nil, err
	}
	if err := item.CheckChat(buyerID); err != nil {
		return nil, err
	}
	return &Reservation{id: id, itemID: item.ID(), buyerID: buyerID, sellerID: item.SellerID(),
		status: RsvCreated, meeting: Meeting{Place: meetingPlace.stored(place)}, createdAt: now, updatedAt: now}, nil
}

// ReservationState is the stored form of a reservation, for adapters only.
type ReservationState struct {
	ID          string
	ItemID      string
	BuyerID     string
	SellerID    string
	Status      RsvStatus
	Meeting     Meeting
	PayID       string
	AgreedPrice int64
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// RestoreReservation rebuilds a reservation from storage.
func RestoreReservation(s ReservationState) *Reservation {
	return &Reservation{id: s.ID, itemID: s.ItemID, buyerID: s.BuyerID, sellerID: s.SellerID, status: s.Status,
		meeting: s.Meeting, payID: s.PayID, agreedPrice: s.AgreedPrice, version: s.Version, createdAt: s.CreatedAt, updatedAt: s.UpdatedAt}
}

// State returns the stored form of the reservation.
func (r *Reservation) State() ReservationState {
	return ReservationState{ID: r.id, ItemID: r.itemID, BuyerID: r.buyerID, SellerID: r.sellerID, Status: r.status,
		Meeting: r.meeting, PayID: r.payID, AgreedPrice: r.agreedPrice, Version: r.version, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt}
}

func (r *Reservation) ID() string           { return r.id }
func (r *Reservation) ItemID() string       { return r.itemID }
func (r *Reservation) BuyerID() string      { return r.buyerID }
func (r *Reservation) SellerID() string     { return r.sellerID }
func (r *Reservation) Status() RsvStatus    { return r.status }
func (r *Reservation) Meeting() Meeting     { return r.meeting }
func (r *Reservation) PayID() string        { return r.payID }
func (r *Reservation) AgreedPrice() int64   { return r.agreedPrice }
func (r *Reservation) Version() int64       { return r.version }
func (r *Reservation) CreatedAt() time.Time { return r.createdAt }
func (r *Reservation) UpdatedAt() time.Time { return r.updatedAt }

// IsParticipant reports whether u is the buyer or the seller.
func (r *Reservation) IsParticipant(u string) bool {
	return u != "" && (u == r.buyerID || u == r.sellerID)
}

// CheckView lets only the participants see the reservation and its chat.
func (r *Reservation) CheckView(by string) error {
	if !r.IsParticipant(by) {
		return Errorf(Forbidden, "only the buyer and the seller may see this reservation")
	}
	return nil
}

// Confirm fixes the meeting, which must lie ahead of now (ValidateAt).
// Only the seller confirms; a confirmed reservation may be confirmed
// again to move the meeting, a paid one not. The caller must also hold
// the item for it (Item.Reserve, which records the agreed price) in the
// same write.
func (r *Reservation) Confirm(by string, m Meeting, now time.Time) error {
	if by == "" || by != r.sellerID {
		return Errorf(Forbidden, "only the seller may confirm a reservation")
	}
	if err := m.ValidateAt(now); err != nil {
		return err
	}
	if r.status == RsvCompleted {
		return Errorf(Conflict, "a paid reservation cannot be confirmed again")
	}
	if m.Place = meetingPlace.stored(m.Place); m.Place == "" {
		m.Place = r.meeting.Place
	}
	r.status, r.meeting, r.updatedAt = RsvConfirmed, m, now
	return nil
}

// CheckDelete lets either participant delete the reservation unless it is
// paid: the payment must be cancelled first.
func (r *Reservation) CheckDelete(by string) error {
	if !r.IsParticipant(by) {
		return Errorf(Forbidden, "only the buyer and the seller may delete this reservation")
	}
	if r.status == RsvCompleted {
		return Errorf(Conflict, "a paid reservation cannot be deleted; cancel the payment first")
	}
	return nil
}

// CheckPay lets only the buyer pay, and only a confirmed reservation.
func (r *Reservation) CheckPay(by string) error {
	return r.checkBuyerStep(by, RsvConfirmed, "pay for this reservation", "paid")
}

// CheckReview lets only the buyer review, and only a paid deal.
func (r *Reservation) CheckReview(by string) error {
	return r.checkBuyerStep(by, RsvCompleted, "review this deal", "reviewed")
}

// checkBuyerStep lets only the buyer take a step of the deal (what, e.g.
// "review this deal"), and only while the reservation is in status; done
// names the step in the refusal ("paid").
func (r *Reservation) checkBuyerStep(by string, status RsvStatus, what, done string) error {
	if by == "" || by != r.buyerID {
		return Errorf(Forbidden, "only the buyer may %s", what)
	}
	if r.status != status {
		return Errorf(Conflict, "only a %s reservation can be %s; this one is %s", status, done, r.status)
	}
	return nil
}

// Complete records that payment payID was approved. It reports whether
// anything changed, so a redelivered fact changes nothing.
func (r *Reservation) Complete(payID string, now time.Time) (bool, error) {
	switch {
	case r.status == RsvCompleted && r.payID == payID:
		return false, nil
	case r.status != RsvConfirmed:
		return false, Errorf(Conflict, "a %s reservation cannot be completed", r.status)
	}
	r.status, r.payID, r.updatedAt = RsvCompleted, payID, now
	return true, nil
}

// FollowPayment brings the reservation in line with its payment p as
// storage has it now: approved (and the reservation's one approved payment)
// completes it, cancelled reopens it. It reports whether anything changed;
// a payment of another reservation is a Conflict.
func (r *Reservation) FollowPayment(p *Payment, approved bool, now time.Time) (bool, error) {
	if p.RsvID() != r.id {
		return false, Errorf(Conflict, "payment %s is not of reservation %s", p.ID(), r.id)
	}
	switch {
	case approved && p.Status() == PayApproved:
		return r.Complete(p.ID(), now)
	case p.Status() == PayDeleted:
		return r.Reopen(p.ID(), now)
	}
	return false, nil
}

// Reopen returns a paid reservation to CONFIRMED when payment payID is
// cancelled. A payment that is not the current one changes nothing.
func (r *Reservation) Reopen(payID string, now time.Time) (bool, error) {
	if r.status != RsvCompleted || r.payID != payID {
		return false, nil
	}
	r.status, r.payID, r.updatedAt = RsvConfirmed, "", now
	return true, nil
}

// Message is one chat message in a reservation.
type Message struct {
	ID        string
	RsvID     string
	ItemID    string
	SenderID  string
	Text      string
	CreatedAt time.Time
}

// PostMessage writes a message from a participant; ids must sort in
// posting order (time-ordered ids do).
func (r *Reservation) PostMessage(id, by, text string, now time.Time) (Message, error) {
	if !r.IsParticipant(by) {
		return Message{}, Errorf(Forbidden, "only the buyer and the seller may write in this chat")
	}
	var f Fields
	messageText.check(&f, "text", text)
	if err := f.Err(); err != nil {
		return Message{}, err
	}
	return Message{ID: id, RsvID: r.id, ItemID: r.itemID, SenderID: by, Text: text, CreatedAt: now}, nil
}
