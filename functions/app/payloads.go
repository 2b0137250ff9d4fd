package app

import (
	"time"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

// The functions below translate domain state into the published language.
// They are the only place that knows both. version is the aggregate's
// version as the unit of work saves it (Tx.SaveItem and friends).

func itemPayload(it *market.Item, version int64) *events.Item {
	s := it.State()
	return &events.Item{
		ItemID: s.ID, SellerID: s.SellerID, Name: s.Details.Name, Category: s.Details.Category,
		Price: s.Details.Price, Description: s.Details.Description, Region: s.Details.Region,
		Photos: s.Details.Photos, Status: string(s.Status), RsvID: s.RsvID,
		Score: it.Score(), ReviewCount: s.ReviewCount, Version: version,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

func reservationPayload(r *market.Reservation, version int64) *events.Reservation {
	s := r.State()
	return &events.Reservation{
		RsvID: s.ID, ItemID: s.ItemID, BuyerID: s.BuyerID, SellerID: s.SellerID, RsvStatus: string(s.Status),
		RsvDate: s.Meeting.Date, RsvTime: s.Meeting.Time, RsvPlace: s.Meeting.Place, PayID: s.PayID,
		AgreedPrice: s.AgreedPrice, Version: version, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

func messagePayload(m market.Message) *events.Message {
	return &events.Message{MessageID: m.ID, RsvID: m.RsvID, ItemID: m.ItemID, SenderID: m.SenderID, Text: m.Text, CreatedAt: m.CreatedAt}
}

func paymentPayload(p *market.Payment, version int64) *events.Payment {
	s := p.State()
	var cancelled *time.Time
	if !s.CancelledAt.IsZero() {
		cancelled = &s.CancelledAt
	}
	return &events.Payment{
		PayID: s.ID, RsvID: s.RsvID, ItemID: s.ItemID, BuyerID: s.BuyerID, SellerID: s.SellerID,
		Amount: s.Amount, Status: string(s.Status), Version: version, CreatedAt: s.CreatedAt, CancelledAt: cancelled,
	}
}

func reviewPayload(r market.Review) *events.Review {
	return &events.Review{ReviewID: r.ID, RsvID: r.RsvID, ItemID: r.ItemID, ReviewerID: r.ReviewerID,
		SellerID: r.SellerID, Score: r.Score, Comment: r.Comment, CreatedAt: r.CreatedAt}
}
