// Package rest is carrot's HTTP API (SPEC section 4): the JSON shapes on
// the wire and one thin handler per route. Each Knative function mounts
// the routes it owns; the gateway of the local runtime mounts them all.
package rest

import (
	"reflect"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// ID is an identifier on the wire. Ids are strings; a JSON number that is
// an unsigned integer is taken too, as its digits, for the seed's clients
// that sent `itemId:=1`. Any other value is a *json.SemanticError that
// web.Decode answers as a wrong type of the field.
type ID string

func (id *ID) UnmarshalJSON(b []byte) error {
	v := jsontext.Value(b)
	switch v.Kind() {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	case '0':
		if _, err := strconv.ParseUint(string(b), 10, 64); err == nil {
			*id = ID(b)
			return nil
		}
	}
	return &json.SemanticError{JSONKind: v.Kind(), JSONValue: v, GoType: reflect.TypeFor[string]()}
}

// Item is an item on the wire.
type Item struct {
	ItemID   string `json:"itemId"`
	SellerID string `json:"sellerId"`
	itemDetails
	Status      string    `json:"status"`
	Score       float64   `json:"score"`
	ReviewCount int       `json:"reviewCount"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func toItem(it *market.Item) Item {
	d := it.Details()
	return Item{
		ItemID: it.ID(), SellerID: it.SellerID(), itemDetails: itemDetails(d), Status: string(it.Status()),
		Score: it.Score(), ReviewCount: it.ReviewCount(), CreatedAt: it.CreatedAt(), UpdatedAt: it.UpdatedAt(),
	}
}

func (i Item) location() string { return "/items/" + i.ItemID }

// Reservation is a reservation on the wire.
type Reservation struct {
	RsvID     string `json:"rsvId"`
	ItemID    string `json:"itemId"`
	BuyerID   string `json:"buyerId"`
	SellerID  string `json:"sellerId"`
	RsvStatus string `json:"rsvStatus"`
	RsvDate   string `json:"rsvDate"`
	RsvTime   string `json:"rsvTime"`
	RsvPlace  string `json:"rsvPlace"`
	// AgreedPrice is the item's price when the seller confirmed: what the
	// buyer pays. Absent before confirmation.
	AgreedPrice *int64    `json:"agreedPrice,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func toReservation(r *market.Reservation) Reservation {
	m := r.Meeting()
	out := Reservation{
		RsvID: r.ID(), ItemID: r.ItemID(), BuyerID: r.BuyerID(), SellerID: r.SellerID(), RsvStatus: string(r.Status()),
		RsvDate: m.Date, RsvTime: m.Time, RsvPlace: m.Place, CreatedAt: r.CreatedAt(), UpdatedAt: r.UpdatedAt(),
	}
	if r.Status() != market.RsvCreated {
		price := r.AgreedPrice()
		out.AgreedPrice = &price
	}
	return out
}

func (r Reservation) location() string { return "/reservations/" + r.RsvID }

// Message is a chat message on the wire.
type Message struct {
	MessageID string    `json:"messageId"`
	RsvID     string    `json:"rsvId"`
	SenderID  string    `json:"senderId"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"createdAt"`
}

func toMessage(m market.Message) Message {
	return Message{MessageID: m.ID, RsvID: m.RsvID, SenderID: m.SenderID, Text: m.Text, CreatedAt: m.CreatedAt}
}

// location is the chat a message was posted to.
func (m Message) location() string { return "/reservations/" + m.RsvID + "/messages" }

// Payment is a payment on the wire.
type Payment struct {
	PayID       string     `json:"payId"`
	RsvID       string     `json:"rsvId"`
	ItemID      string     `json:"itemId"`
	BuyerID     string     `json:"buyerId"`
	Amount      int64      `json:"amount"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"createdAt"`
	CancelledAt *time.Time `json:"cancelledAt,omitempty"`
}

func toPayment(p *market.Payment) Payment {
	out := Payment{PayID: p.ID(), RsvID: p.RsvID(), ItemID: p.ItemID(), BuyerID: p.BuyerID(),
		Amount: p.Amount(), Status: string(p.Status()), CreatedAt: p.CreatedAt()}
	if c := p.CancelledAt(); !c.IsZero() {
		out.CancelledAt = &c
	}
	return out
}

func (p Payment) location() string { return "/payments/" + p.PayID }

// Review is a review on the wire.
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

func toReview(r market.Review) Review {
	return Review{ReviewID: r.ID, RsvID: r.RsvID, ItemID: r.ItemID, ReviewerID: r.ReviewerID,
		SellerID: r.SellerID, Score: r.Score, Comment: r.Comment, CreatedAt: r.CreatedAt}
}

func (r Review) location() string { return "/reviews/" + r.ReviewID }

// PageRow is one MyPage row on the wire: an item with the deal that holds it.
type PageRow struct {
	ItemID      string    `json:"itemId"`
	ItemName    string    `json:"itemName"`
	ItemStatus  string    `json:"itemStatus"`
	Price       int64     `json:"price"`
	SellerID    string    `json:"sellerId"`
	Score       float64   `json:"score"`
	ReviewCount int       `json:"reviewCount"`
	RsvID       string    `json:"rsvId,omitempty"`
	RsvStatus   string    `json:"rsvStatus,omitempty"`
	BuyerID     string    `json:"buyerId,omitempty"`
	RsvDate     string    `json:"rsvDate,omitempty"`
	RsvTime     string    `json:"rsvTime,omitempty"`
	RsvPlace    string    `json:"rsvPlace,omitempty"`
	PayID       string    `json:"payId,omitempty"`
	PayStatus   string    `json:"payStatus,omitempty"`
	OpenChats   int       `json:"openChats"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func toPageRow(r app.PageRow) PageRow {
	return PageRow{ItemID: r.ItemID, ItemName: r.ItemName, ItemStatus: r.ItemStatus, Price: r.Price,
		SellerID: r.SellerID, Score: r.Score, ReviewCount: r.ReviewCount, RsvID: r.RsvID, RsvStatus: r.RsvStatus,
		BuyerID: r.BuyerID, RsvDate: r.RsvDate, RsvTime: r.RsvTime, RsvPlace: r.RsvPlace, PayID: r.PayID,
		PayStatus: r.PayStatus, OpenChats: r.OpenChats, UpdatedAt: r.UpdatedAt}
}

// PageDeal is one of a buyer's reservations on MyPage.
type PageDeal struct {
	RsvID      string    `json:"rsvId"`
	ItemID     string    `json:"itemId"`
	ItemName   string    `json:"itemName"`
	ItemStatus string    `json:"itemStatus"`
	Price      int64     `json:"price"`
	SellerID   string    `json:"sellerId"`
	RsvStatus  string    `json:"rsvStatus"`
	RsvDate    string    `json:"rsvDate,omitempty"`
	RsvTime    string    `json:"rsvTime,omitempty"`
	RsvPlace   string    `json:"rsvPlace,omitempty"`
	PayID      string    `json:"payId,omitempty"`
	PayStatus  string    `json:"payStatus,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func toPageDeal(d app.PageDeal) PageDeal {
	return PageDeal{RsvID: d.RsvID, ItemID: d.ItemID, ItemName: d.ItemName, ItemStatus: d.ItemStatus,
		Price: d.Price, SellerID: d.SellerID, RsvStatus: d.RsvStatus, RsvDate: d.RsvDate, RsvTime: d.RsvTime,
		RsvPlace: d.RsvPlace, PayID: d.PayID, PayStatus: d.PayStatus, UpdatedAt: d.UpdatedAt}
}

// List is one page of a listing; NextCursor is empty on the last page.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

func listOf[S, T any](src []S, next string, conv func(S) T) List[T] {
	out := List[T]{Items: make([]T, 0, len(src)), NextCursor: next}
	for _, s := range src {
		out.Items = append(out.Items, conv(s))
	}
	return out
}
