package events

import (
	"errors"
	"time"
)

// Item is the state of an item after the fact: every item.* event except
// item.scored carries it whole, so consumers never read the items table.
type Item struct {
	ItemID      string    `json:"itemId"`
	SellerID    string    `json:"sellerId"`
	Name        string    `json:"name"`
	Category    string    `json:"category"`
	Price       int64     `json:"price"`
	Description string    `json:"description"`
	Region      string    `json:"region"`
	Photos      []string  `json:"photos"`
	Status      string    `json:"status"`
	RsvID       string    `json:"rsvId,omitempty"` // the reservation that holds the item, if any
	Score       float64   `json:"score"`
	ReviewCount int       `json:"reviewCount"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func (p *Item) Subject() string      { return p.ItemID }
func (p *Item) PartitionKey() string { return p.ItemID }
func (p *Item) validate() error {
	return require(p.ItemID, "itemId", p.SellerID, "sellerId", p.Status, "status")
}

// ItemScore says a review changed the item's mean score and its seller's.
type ItemScore struct {
	ItemID            string  `json:"itemId"`
	SellerID          string  `json:"sellerId"`
	ReviewID          string  `json:"reviewId"`
	Score             float64 `json:"score"`
	ReviewCount       int     `json:"reviewCount"`
	SellerScore       float64 `json:"sellerScore"`
	SellerReviewCount int     `json:"sellerReviewCount"`
	Version           int64   `json:"version"`
}

func (p *ItemScore) Subject() string      { return p.ItemID }
func (p *ItemScore) PartitionKey() string { return p.ItemID }
func (p *ItemScore) validate() error {
	return require(p.ItemID, "itemId", p.SellerID, "sellerId", p.ReviewID, "reviewId")
}

// Reservation is the state of a reservation after the fact.
type Reservation struct {
	RsvID     string `json:"rsvId"`
	ItemID    string `json:"itemId"`
	BuyerID   string `json:"buyerId"`
	SellerID  string `json:"sellerId"`
	RsvStatus string `json:"rsvStatus"`
	RsvDate   string `json:"rsvDate,omitempty"`
	RsvTime   string `json:"rsvTime,omitempty"`
	RsvPlace  string `json:"rsvPlace,omitempty"`
	PayID     string `json:"payId,omitempty"` // the approved payment of a COMPLETED reservation
	// AgreedPrice is the item's price recorded at confirmation (0 before).
	AgreedPrice int64     `json:"agreedPrice"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func (p *Reservation) Subject() string      { return p.RsvID }
func (p *Reservation) PartitionKey() string { return p.ItemID }
func (p *Reservation) validate() error {
	return require(p.RsvID, "rsvId", p.ItemID, "itemId", p.BuyerID, "buyerId", p.SellerID, "sellerId", p.RsvStatus, "rsvStatus")
}

// Message is one chat message posted in a reservation.
type Message struct {
	MessageID string    `json:"messageId"`
	RsvID     string    `json:"rsvId"`
	ItemID    string    `json:"itemId"`
	SenderID  string    `json:"senderId"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"createdAt"`
}

func (p *Message) Subject() string      { return p.RsvID }
func (p *Message) PartitionKey() string { return p.ItemID }
func (p *Message) validate() error {
	return require(p.MessageID, "messageId", p.RsvID, "rsvId", p.ItemID, "itemId", p.SenderID, "senderId")
}

// Payment is the state of a payment after the fact.
type Payment struct {
	PayID       string     `json:"payId"`
	RsvID       string     `json:"rsvId"`
	ItemID      string     `json:"itemId"`
	BuyerID     string     `json:"buyerId"`
	SellerID    string     `json:"sellerId"`
	Amount      int64      `json:"amount"`
	Status      string     `json:"status"`
	Version     int64      `json:"version"`
	CreatedAt   time.Time  `json:"createdAt"`
	CancelledAt *time.Time `json:"cancelledAt,omitempty"`
}

func (p *Payment) Subject() string      { return p.PayID }
func (p *Payment) PartitionKey() string { return p.ItemID }
func (p *Payment) validate() error {
	return require(p.PayID, "payId", p.RsvID, "rsvId", p.ItemID, "itemId", p.BuyerID, "buyerId", p.Status, "status")
}

// Review is a buyer's review of a completed deal.
type Review struct {
	ReviewID   string    `json:"reviewId"`
	RsvID      string    `json:"rsvId"`
	ItemID     string    `json:"itemId"`
	ReviewerID string    `json:"reviewerId"`
	SellerID   string    `json:"sellerId"`
	Score      int       `json:"score"`
	Comment    string    `json:"comment"`
	CreatedAt  time.Time `json:"createdAt"`
}

func (p *Review) Subject() string      { return p.ReviewID }
func (p *Review) PartitionKey() string { return p.ItemID }
func (p *Review) validate() error {
	if err := require(p.ReviewID, "reviewId", p.RsvID, "rsvId", p.ItemID, "itemId", p.ReviewerID, "reviewerId", p.SellerID, "sellerId"); err != nil {
		return err
	}
	if p.Score < 1 || p.Score > 5 {
		return errors.New("score must be 1 to 5")
	}
	return nil
}

// require takes value, name pairs and names the first empty value.
func require(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "" {
			return errors.New(pairs[i+1] + " is required")
		}
	}
	return nil
}
