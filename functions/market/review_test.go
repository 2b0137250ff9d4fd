package market_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
)

func TestWriteReview(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  market.RsvStatus
		by      string
		score   int
		comment string
		want    market.Code
		fields  []string
	}{
		{name: "lowest score", status: market.RsvCompleted, by: buyer, score: 1},
		{name: "highest score with a comment", status: market.RsvCompleted, by: buyer, score: 5, comment: "친절하세요!"},
		{name: "comment of 1000 characters", status: market.RsvCompleted, by: buyer, score: 4, comment: strings.Repeat("좋", 1000)},

		{name: "score 0", status: market.RsvCompleted, by: buyer, score: 0, want: market.Invalid, fields: []string{"score"}},
		{name: "score 6", status: market.RsvCompleted, by: buyer, score: 6, want: market.Invalid, fields: []string{"score"}},
		{name: "negative score", status: market.RsvCompleted, by: buyer, score: -3, want: market.Invalid, fields: []string{"score"}},
		{name: "comment of 1001 characters", status: market.RsvCompleted, by: buyer, score: 3,
			comment: strings.Repeat("좋", 1001), want: market.Invalid, fields: []string{"comment"}},
		{name: "score and comment", status: market.RsvCompleted, by: buyer, score: 9,
			comment: strings.Repeat("c", 1001), want: market.Invalid, fields: []string{"score", "comment"}},

		{name: "seller", status: market.RsvCompleted, by: seller, score: 5, want: market.Forbidden},
		{name: "outsider", status: market.RsvCompleted, by: other, score: 5, want: market.Forbidden},
		{name: "anonymous", status: market.RsvCompleted, by: "", score: 5, want: market.Forbidden},
		{name: "not paid yet", status: market.RsvConfirmed, by: buyer, score: 5, want: market.Conflict},
		{name: "only a chat", status: market.RsvCreated, by: buyer, score: 5, want: market.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rsvAt(tt.status)
			rv, err := market.WriteReview("rv-1", r, tt.by, tt.score, tt.comment, t1)
			if tt.want != "" {
				requireRefusal(t, tt.want, tt.fields, err)
				assert.Zero(t, rv)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, market.Review{
				ID: "rv-1", RsvID: rsvA, ItemID: itemID, ReviewerID: buyer, SellerID: seller,
				Score: tt.score, Comment: tt.comment, CreatedAt: t1,
			}, rv)
		})
	}
}

func TestSellerScore(t *testing.T) {
	t.Parallel()
	s := market.Seller{ID: seller}
	assert.Zero(t, s.Score(), "no review, score 0")

	for _, score := range []int{5, 3, 4, 4} {
		s.AddReview(score)
	}
	assert.Equal(t, 16, s.ScoreSum)
	assert.Equal(t, 4, s.ReviewCount)
	assert.InDelta(t, 4.0, s.Score(), 1e-9)

	s.AddReview(1)
	assert.InDelta(t, 17.0/5, s.Score(), 1e-9)
	assert.Equal(t, int64(0), s.Version, "the version belongs to the store")
}
