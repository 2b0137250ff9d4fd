package dynamo

import (
	"encoding/json"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/idempotency"
)

// The records below are the stored form of each row. They are private so
// that the schema is decided here, not by the domain's field names; the
// attribute names are the wire names of the HTTP API where one exists.
// Attributes that key a secondary index are omitted when empty, because
// DynamoDB refuses an empty string as an index key.

type itemRecord struct {
	ItemID      string    `dynamodbav:"itemId"`
	SellerID    string    `dynamodbav:"sellerId,omitempty"`
	Name        string    `dynamodbav:"name"`
	Category    string    `dynamodbav:"category"`
	Price       int64     `dynamodbav:"price"`
	Description string    `dynamodbav:"description"`
	Region      string    `dynamodbav:"region"`
	Photos      []string  `dynamodbav:"photos"`
	Status      string    `dynamodbav:"status"`
	RsvID       string    `dynamodbav:"rsvId"`
	ScoreSum    int       `dynamodbav:"scoreSum"`
	ReviewCount int       `dynamodbav:"reviewCount"`
	Version     int64     `dynamodbav:"version"`
	CreatedAt   time.Time `dynamodbav:"createdAt"`
	UpdatedAt   time.Time `dynamodbav:"updatedAt"`
	// Search is the name and description as app.SearchText normalises
	// them, in which the filters of a search look for its words
	// (DynamoDB's contains is case-sensitive).
	Search string `dynamodbav:"search"`
	// Words is the nonce of the item's rows in the word index (words.go),
	// empty when it has none.
	Words string `dynamodbav:"words,omitempty"`
}

func toItemRecord(s market.ItemState) itemRecord {
	photos := s.Details.Photos
	if photos == nil {
		photos = []string{}
	}
	return itemRecord{ItemID: s.ID, SellerID: s.SellerID, Name: s.Details.Name, Category: s.Details.Category,
		Price: s.Details.Price, Description: s.Details.Description, Region: s.Details.Region, Photos: photos,
		Status: string(s.Status), RsvID: s.RsvID, ScoreSum: s.ScoreSum, ReviewCount: s.ReviewCount,
		Version: s.Version, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		Search: app.SearchText(s.Details.Name, s.Details.Description)}
}

func (r itemRecord) state() market.ItemState {
	photos := r.Photos
	if photos == nil {
		photos = []string{}
	}
	return market.ItemState{ID: r.ItemID, SellerID: r.SellerID,
		Details: market.ItemDetails{Name: r.Name, Category: r.Category, Price: r.Price,
			Description: r.Description, Region: r.Region, Photos: photos},
		Status: market.ItemStatus(r.Status), RsvID: r.RsvID, ScoreSum: r.ScoreSum, ReviewCount: r.ReviewCount,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type reservationRecord struct {
	RsvID       string    `dynamodbav:"rsvId"`
	ItemID      string    `dynamodbav:"itemId"`
	BuyerID     string    `dynamodbav:"buyerId"`
	SellerID    string    `dynamodbav:"sellerId"`
	Status      string    `dynamodbav:"rsvStatus"`
	Date        string    `dynamodbav:"rsvDate"`
	Time        string    `dynamodbav:"rsvTime"`
	Place       string    `dynamodbav:"rsvPlace"`
	PayID       string    `dynamodbav:"payId"`
	AgreedPrice int64     `dynamodbav:"agreedPrice"`
	Version     int64     `dynamodbav:"version"`
	CreatedAt   time.Time `dynamodbav:"createdAt"`
	UpdatedAt   time.Time `dynamodbav:"updatedAt"`
}

func toReservationRecord(s market.ReservationState) reservationRecord {
	return reservationRecord{RsvID: s.ID, ItemID: s.ItemID, BuyerID: s.BuyerID, SellerID: s.SellerID,
		Status: string(s.Status), Date: s.Meeting.Date, Time: s.Meeting.Time, Place: s.Meeting.Place,
		PayID: s.PayID, AgreedPrice: s.AgreedPrice, Version: s.Version, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

func (r itemRecord) item() *market.Item { return market.RestoreItem(r.state()) }

func (r itemRecord) version() int64        { return r.Version }
func (r reservationRecord) version() int64 { return r.Version }
func (r paymentRecord) version() int64     { return r.Version }
func (r sellerRecord) version() int64      { return r.Version }
func (r rowRecord) version() int64         { return r.Version }

func (r sellerRecord) seller() *market.Seller {
	return &market.Seller{ID: r.SellerID, ScoreSum: r.ScoreSum, ReviewCount: r.ReviewCount, Scores: r.Scores, Version: r.Version}
}

func (r reservationRecord) reservation() *market.Reservation {
	return market.RestoreReservation(r.state())
}

func (r paymentRecord) payment() *market.Payment { return market.RestorePayment(r.state()) }

func (r reservationRecord) state() market.ReservationState {
	return market.ReservationState{ID: r.RsvID, ItemID: r.ItemID, BuyerID: r.BuyerID, SellerID: r.SellerID,
		Status: market.RsvStatus(r.Status), Meeting: market.Meeting{Date: r.Date, Time: r.Time, Place: r.Place},
		PayID: r.PayID, AgreedPrice: r.AgreedPrice, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// Messages and reviews are never changed; they carry version 1 so that
// every row of an aggregate table has a version.
type messageRecord struct {
	RsvID     string    `dynamodbav:"rsvId"`
	MessageID string    `dynamodbav:"messageId"`
	ItemID    string    `dynamodbav:"itemId"`
	SenderID  string    `dynamodbav:"senderId"`
	Text      string    `dynamodbav:"text"`
	Version   int64     `dynamodbav:"version"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
}

func toMessageRecord(m market.Message) messageRecord {
	return messageRecord{RsvID: m.RsvID, MessageID: m.ID, ItemID: m.ItemID, SenderID: m.SenderID, Text: m.Text,
		Version: 1, CreatedAt: m.CreatedAt}
}

func (r messageRecord) message() market.Message {
	return market.Message{ID: r.MessageID, RsvID: r.RsvID, ItemID: r.ItemID, SenderID: r.SenderID, Text: r.Text,
		CreatedAt: r.CreatedAt.UTC()}
}

type paymentRecord struct {
	PayID       string    `dynamodbav:"payId"`
	RsvID       string    `dynamodbav:"rsvId"`
	ItemID      string    `dynamodbav:"itemId"`
	BuyerID     string    `dynamodbav:"buyerId"`
	SellerID    string    `dynamodbav:"sellerId"`
	Amount      int64     `dynamodbav:"amount"`
	Status      string    `dynamodbav:"status"`
	Version     int64     `dynamodbav:"version"`
	CreatedAt   time.Time `dynamodbav:"createdAt"`
	CancelledAt time.Time `dynamodbav:"cancelledAt"`
}

func toPaymentRecord(s market.PaymentState) paymentRecord {
	return paymentRecord{PayID: s.ID, RsvID: s.RsvID, ItemID: s.ItemID, BuyerID: s.BuyerID, SellerID: s.SellerID,
		Amount: s.Amount, Status: string(s.Status), Version: s.Version, CreatedAt: s.CreatedAt, CancelledAt: s.CancelledAt}
}

func (r paymentRecord) state() market.PaymentState {
	return market.PaymentState{ID: r.PayID, RsvID: r.RsvID, ItemID: r.ItemID, BuyerID: r.BuyerID, SellerID: r.SellerID,
		Amount: r.Amount, Status: market.PayStatus(r.Status), Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), CancelledAt: r.CancelledAt.UTC()}
}

type reviewRecord struct {
	RsvID      string    `dynamodbav:"rsvId"`
	ReviewID   string    `dynamodbav:"reviewId"`
	ItemID     string    `dynamodbav:"itemId"`
	ReviewerID string    `dynamodbav:"reviewerId"`
	SellerID   string    `dynamodbav:"sellerId"`
	Score      int       `dynamodbav:"score"`
	Comment    string    `dynamodbav:"comment"`
	Version    int64     `dynamodbav:"version"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
	// Newest is the sort key of the byItem and bySeller indexes: the
	// creation time, fixed width so that text order is time order, then
	// the review id, so that reviews of one instant stay distinct.
	Newest string `dynamodbav:"newest"`
}

// newestKeyLayout writes every UTC time in the same width.
const newestKeyLayout = "2006-01-02T15:04:05.000000000Z"

func toReviewRecord(r market.Review) reviewRecord {
	return reviewRecord{RsvID: r.RsvID, ReviewID: r.ID, ItemID: r.ItemID, ReviewerID: r.ReviewerID, SellerID: r.SellerID,
		Score: r.Score, Comment: r.Comment, Version: 1, CreatedAt: r.CreatedAt,
		Newest: r.CreatedAt.UTC().Format(newestKeyLayout) + "#" + r.ID}
}

func (r reviewRecord) review() market.Review {
	return market.Review{ID: r.ReviewID, RsvID: r.RsvID, ItemID: r.ItemID, ReviewerID: r.ReviewerID, SellerID: r.SellerID,
		Score: r.Score, Comment: r.Comment, CreatedAt: r.CreatedAt.UTC()}
}

type sellerRecord struct {
	SellerID    string `dynamodbav:"sellerId"`
	ScoreSum    int    `dynamodbav:"scoreSum"`
	ReviewCount int    `dynamodbav:"reviewCount"`
	// Scores[s-1] counts the reviews of score s; a row written before it
	// was kept has none.
	Scores  [market.MaxScore]int `dynamodbav:"scores"`
	Version int64                `dynamodbav:"version"`
}

type claimRecord struct {
	Key       string    `dynamodbav:"key"`
	Owner     string    `dynamodbav:"owner"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
}

type handledRecord struct {
	Key       string    `dynamodbav:"key"`
	HandledAt time.Time `dynamodbav:"handledAt"`
	ExpiresAt int64     `dynamodbav:"expiresAt"` // Unix seconds, the TTL attribute
}

// outboxRecord is one event waiting to be sent. Its key is the event id,
// so ids must be unique across sources (events.NewID and events.DerivedID
// are); publishing the same event twice keeps one row.
type outboxRecord struct {
	ID           string `dynamodbav:"id"`
	Event        string `dynamodbav:"event"` // the structured-mode JSON of the CloudEvent
	Type         string `dynamodbav:"type"`
	PartitionKey string `dynamodbav:"partitionKey"` // the item id, for ordering per item
	// CreatedAt is the commit time in Unix nanoseconds and Seq the op's
	// position in its commit; together they order the outbox.
	CreatedAt int64 `dynamodbav:"createdAt"`
	Seq       int   `dynamodbav:"seq"`
}

func newOutboxRecord(e cloudevents.Event, now time.Time, seq int) (outboxRecord, error) {
	if err := e.Validate(); err != nil {
		return outboxRecord{}, internalf("dynamo: publish an invalid event: %w", err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return outboxRecord{}, internalf("dynamo: encode event %s: %w", e.ID(), err)
	}
	pk, _ := e.Extensions()[events.PartitionKeyExtension].(string)
	return outboxRecord{ID: e.ID(), Event: string(body), Type: e.Type(), PartitionKey: pk, CreatedAt: now.UnixNano(), Seq: seq}, nil
}

// idempotencyRecord is one Idempotency-Key: pending while a request holds
// its lease, done once the answer is stored.
type idempotencyRecord struct {
	Key         string            `dynamodbav:"key"`
	State       string            `dynamodbav:"state"`
	Fingerprint string            `dynamodbav:"fingerprint"`
	LeaseUntil  int64             `dynamodbav:"leaseUntil"` // Unix milliseconds
	Status      int               `dynamodbav:"status,omitempty"`
	Header      map[string]string `dynamodbav:"header,omitempty"`
	Body        []byte            `dynamodbav:"body,omitempty"`
	ExpiresAt   int64             `dynamodbav:"expiresAt"` // Unix seconds, the TTL attribute
}

func (r idempotencyRecord) response() *idempotency.Response {
	return &idempotency.Response{Fingerprint: r.Fingerprint, Status: r.Status, Header: r.Header, Body: r.Body}
}

// changeRecord is one row of the change log, and checkpointRecord a
// reader's checkpoint in the same table (see changes.go).
type changeRecord struct {
	Bucket    string `dynamodbav:"bucket"`
	Key       string `dynamodbav:"key"`
	Kind      string `dynamodbav:"kind"`
	ID        string `dynamodbav:"id"`
	ItemID    string `dynamodbav:"itemId"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

func (r changeRecord) change() app.Change {
	return app.Change{Kind: app.ChangeKind(r.Kind), ID: r.ID, ItemID: r.ItemID}
}

// changeKey is the sort key of a change: "<kind>|<id>".
func changeKey(c app.Change) string { return string(c.Kind) + "|" + c.ID }

type checkpointRecord struct {
	Bucket string    `dynamodbav:"bucket"`
	Key    string    `dynamodbav:"key"`
	At     time.Time `dynamodbav:"at"`
}

type rowRecord struct {
	ItemID      string    `dynamodbav:"itemId"`
	ItemName    string    `dynamodbav:"itemName"`
	ItemStatus  string    `dynamodbav:"itemStatus"`
	Price       int64     `dynamodbav:"price"`
	SellerID    string    `dynamodbav:"sellerId,omitempty"`
	Score       float64   `dynamodbav:"score"`
	ReviewCount int       `dynamodbav:"reviewCount"`
	RsvID       string    `dynamodbav:"rsvId"`
	RsvStatus   string    `dynamodbav:"rsvStatus"`
	BuyerID     string    `dynamodbav:"buyerId"`
	RsvDate     string    `dynamodbav:"rsvDate"`
	RsvTime     string    `dynamodbav:"rsvTime"`
	RsvPlace    string    `dynamodbav:"rsvPlace"`
	PayID       string    `dynamodbav:"payId"`
	PayStatus   string    `dynamodbav:"payStatus"`
	OpenChats   int       `dynamodbav:"openChats"`
	UpdatedAt   time.Time `dynamodbav:"updatedAt"`
	Version     int64     `dynamodbav:"version"`
	// Shard is rowShard on every row: the partition of the newest index.
	Shard string `dynamodbav:"shard"`
}

// rowShard is the one partition of MyPage's newest index. One partition
// takes about 1,000 writes a second, far more than the projector makes;
// beyond that, rows would spread over a few shards read in parallel.
const rowShard = "all"

func toRowRecord(r app.PageRow) rowRecord {
	return rowRecord{ItemID: r.ItemID, ItemName: r.ItemName, ItemStatus: r.ItemStatus, Price: r.Price,
		SellerID: r.SellerID, Score: r.Score, ReviewCount: r.ReviewCount, RsvID: r.RsvID, RsvStatus: r.RsvStatus,
		BuyerID: r.BuyerID, RsvDate: r.RsvDate, RsvTime: r.RsvTime, RsvPlace: r.RsvPlace, PayID: r.PayID,
		PayStatus: r.PayStatus, OpenChats: r.OpenChats, UpdatedAt: r.UpdatedAt, Version: r.Version, Shard: rowShard}
}

func (r rowRecord) row() app.PageRow {
	return app.PageRow{ItemID: r.ItemID, ItemName: r.ItemName, ItemStatus: r.ItemStatus, Price: r.Price,
		SellerID: r.SellerID, Score: r.Score, ReviewCount: r.ReviewCount, RsvID: r.RsvID, RsvStatus: r.RsvStatus,
		BuyerID: r.BuyerID, RsvDate: r.RsvDate, RsvTime: r.RsvTime, RsvPlace: r.RsvPlace, PayID: r.PayID,
		PayStatus: r.PayStatus, OpenChats: r.OpenChats, UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version}
}

type dealRecord struct {
	ItemID     string    `dynamodbav:"itemId"`
	RsvID      string    `dynamodbav:"rsvId"`
	BuyerID    string    `dynamodbav:"buyerId,omitempty"`
	SellerID   string    `dynamodbav:"sellerId"`
	ItemName   string    `dynamodbav:"itemName"`
	ItemStatus string    `dynamodbav:"itemStatus"`
	Price      int64     `dynamodbav:"price"`
	RsvStatus  string    `dynamodbav:"rsvStatus"`
	RsvDate    string    `dynamodbav:"rsvDate"`
	RsvTime    string    `dynamodbav:"rsvTime"`
	RsvPlace   string    `dynamodbav:"rsvPlace"`
	PayID      string    `dynamodbav:"payId"`
	PayStatus  string    `dynamodbav:"payStatus"`
	UpdatedAt  time.Time `dynamodbav:"updatedAt"`
	Version    int64     `dynamodbav:"version"`
}

func toDealRecord(d app.PageDeal) dealRecord {
	return dealRecord{ItemID: d.ItemID, RsvID: d.RsvID, BuyerID: d.BuyerID, SellerID: d.SellerID, ItemName: d.ItemName,
		ItemStatus: d.ItemStatus, Price: d.Price, RsvStatus: d.RsvStatus, RsvDate: d.RsvDate, RsvTime: d.RsvTime,
		RsvPlace: d.RsvPlace, PayID: d.PayID, PayStatus: d.PayStatus, UpdatedAt: d.UpdatedAt, Version: d.Version}
}

func (r dealRecord) deal() app.PageDeal {
	return app.PageDeal{RsvID: r.RsvID, ItemID: r.ItemID, BuyerID: r.BuyerID, SellerID: r.SellerID, ItemName: r.ItemName,
		ItemStatus: r.ItemStatus, Price: r.Price, RsvStatus: r.RsvStatus, RsvDate: r.RsvDate, RsvTime: r.RsvTime,
		RsvPlace: r.RsvPlace, PayID: r.PayID, PayStatus: r.PayStatus, UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version}
}
