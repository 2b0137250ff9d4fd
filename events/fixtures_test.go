package events_test

import (
	"context"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
)

// One deal, told as facts: seller u-seller lists item-1, buyer u-buyer chats
// in rsv-1, pays with pay-1, cancels, pays again and reviews with rv-1.
var (
	kst = time.FixedZone("KST", 9*60*60)
	// eventTime is given in Seoul time: New must publish it in UTC.
	eventTime = time.Date(2026, 3, 7, 14, 30, 5, 123_000_000, kst)

	created = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	updated = time.Date(2026, 3, 7, 5, 30, 5, 123_000_000, time.UTC)
)

// fixture is one realistic fact of each type, with what its event must say.
type fixture struct {
	typ     events.Type
	id      string
	source  string
	subject string // the aggregate id
	itemID  string // the partition key
	payload events.Payload
}

func item(status, rsvID string) *events.Item {
	return &events.Item{
		ItemID: "item-1", SellerID: "u-seller", Name: "IKEA POÄNG 안락의자", Category: "furniture", Price: 25_000,
		Description: "Used for two years, no stains.", Region: "seoul/mapo",
		Photos: []string{"https://img.carrot.example/item-1/1.jpg", "https://img.carrot.example/item-1/2.jpg"},
		Status: status, RsvID: rsvID, Score: 0, ReviewCount: 0, Version: 4, CreatedAt: created, UpdatedAt: updated,
	}
}

func reservation(status, payID string) *events.Reservation {
	r := &events.Reservation{
		RsvID: "rsv-1", ItemID: "item-1", BuyerID: "u-buyer", SellerID: "u-seller", RsvStatus: status,
		RsvPlace: "망원역 2번 출구", PayID: payID, Version: 3, CreatedAt: created, UpdatedAt: updated,
	}
	if status != "CREATED" {
		r.RsvDate, r.RsvTime, r.AgreedPrice = "2026-03-08", "18:00", 25_000
	}
	return r
}

func payment(status string, cancelledAt *time.Time) *events.Payment {
	return &events.Payment{
		PayID: "pay-1", RsvID: "rsv-1", ItemID: "item-1", BuyerID: "u-buyer", SellerID: "u-seller",
		Amount: 25_000, Status: status, Version: 1, CreatedAt: updated, CancelledAt: cancelledAt,
	}
}

func fixtures() []fixture {
	cancelledAt := updated.Add(10 * time.Minute)
	soldOut := item("SOLDOUT", "rsv-1")
	scored := item("SOLDOUT", "rsv-1")
	scored.Score, scored.ReviewCount = 4.5, 2
	registered := item("CREATED", "")
	registered.Version, registered.UpdatedAt = 1, created
	deleted := item("CREATED", "")
	deleted.Photos = []string{}
	return []fixture{
		{events.ItemRegistered, "01959a3c-0a00-7000-8000-000000000001", "/carrot/register-item", "item-1", "item-1", registered},
		{events.ItemUpdated, "01959a3c-0a00-7000-8000-000000000002", "/carrot/register-item", "item-1", "item-1", item("CREATED", "")},
		{events.ItemDeleted, "01959a3c-0a00-7000-8000-000000000003", "/carrot/register-item", "item-1", "item-1", deleted},
		{events.ItemReserved, "01959a3c-0a00-7000-8000-000000000004", "/carrot/confirm-reservation", "item-1", "item-1", item("RESERVED", "rsv-1")},
		{events.ItemReleased, "5d0c3c1e-6c1b-5b1e-9a0e-000000000005", "/carrot/item-policy", "item-1", "item-1", item("CREATED", "")},
		{events.ItemSoldOut, "5d0c3c1e-6c1b-5b1e-9a0e-000000000006", "/carrot/item-policy", "item-1", "item-1", soldOut},
		{events.ItemScored, "5d0c3c1e-6c1b-5b1e-9a0e-000000000007", "/carrot/item-policy", "item-1", "item-1", &events.ItemScore{
			ItemID: "item-1", SellerID: "u-seller", ReviewID: "rv-1", Score: 4.5, ReviewCount: 2,
			SellerScore: 4.25, SellerReviewCount: 8, Version: 9,
		}},
		{events.ReservationRequested, "01959a3c-0a00-7000-8000-000000000008", "/carrot/request-chat", "rsv-1", "item-1", reservation("CREATED", "")},
		{events.ReservationConfirmed, "01959a3c-0a00-7000-8000-000000000009", "/carrot/confirm-reservation", "rsv-1", "item-1", reservation("CONFIRMED", "")},
		{events.ReservationDeleted, "01959a3c-0a00-7000-8000-00000000000a", "/carrot/confirm-reservation", "rsv-1", "item-1", reservation("CONFIRMED", "")},
		{events.ReservationCompleted, "5d0c3c1e-6c1b-5b1e-9a0e-00000000000b", "/carrot/reservation-policy", "rsv-1", "item-1", reservation("COMPLETED", "pay-1")},
		{events.ReservationReopened, "5d0c3c1e-6c1b-5b1e-9a0e-00000000000c", "/carrot/reservation-policy", "rsv-1", "item-1", reservation("CONFIRMED", "")},
		{events.ChatMessagePosted, "01959a3c-0a00-7000-8000-00000000000d", "/carrot/request-chat", "rsv-1", "item-1", &events.Message{
			MessageID: "01959a3c-0a00-7000-8000-0000000000ff", RsvID: "rsv-1", ItemID: "item-1", SenderID: "u-buyer",
			Text: "토요일 6시에 망원역 괜찮으세요? \"네고\" 가능할까요?", CreatedAt: updated,
		}},
		{events.PaymentApproved, "01959a3c-0a00-7000-8000-00000000000e", "/carrot/pay", "pay-1", "item-1", payment("APPROVED", nil)},
		{events.PaymentCancelled, "01959a3c-0a00-7000-8000-00000000000f", "/carrot/cancel-payment", "pay-1", "item-1", payment("DELETED", &cancelledAt)},
		{events.ReviewWritten, "01959a3c-0a00-7000-8000-000000000010", "/carrot/write-review", "rv-1", "item-1", &events.Review{
			ReviewID: "rv-1", RsvID: "rsv-1", ItemID: "item-1", ReviewerID: "u-buyer", SellerID: "u-seller",
			Score: 5, Comment: "시간 약속 잘 지키세요 👍", CreatedAt: updated,
		}},
	}
}

// MustNew builds the event of f with its fixed meta.
func MustNew(tb testing.TB, ctx context.Context, f fixture) cloudevents.Event {
	tb.Helper()
	e, err := events.New(ctx, f.typ, events.Meta{ID: f.id, Source: f.source, Time: eventTime}, f.payload)
	require.NoError(tb, err)
	return e
}

// fixtureOf returns the fixture of typ.
func fixtureOf(tb testing.TB, typ events.Type) fixture {
	tb.Helper()
	for _, f := range fixtures() {
		if f.typ == typ {
			return f
		}
	}
	tb.Fatalf("no fixture of %s", typ)
	return fixture{}
}
