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

func TestSellerTemperature(t *testing.T) {
	t.Parallel()
	repeat := func(score, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = score
		}
		return out
	}
	tests := []struct {
		name   string
		scores []int
		want   float64
	}{
		{name: "no review starts at 36.5", want: 36.5},
		{name: "a 5 warms by 0.5", scores: []int{5}, want: 37.0},
		{name: "a 4 warms by 0.2", scores: []int{4}, want: 36.7},
		{name: "a 3 leaves it", scores: []int{3}, want: 36.5},
		{name: "a 2 cools by 0.2", scores: []int{2}, want: 36.3},
		{name: "a 1 cools by 0.5", scores: []int{1}, want: 36.0},
		{name: "steps add up exactly", scores: []int{5, 4, 4, 2, 1, 3}, want: 36.7},
		{name: "held at 99", scores: repeat(5, 200), want: 99},
		{name: "held at 0", scores: repeat(1, 100), want: 0},
		{name: "the bounds hold the sum, not each step", scores: append(repeat(1, 100), 5), want: 0},
		{name: "a score out of range counts in the mean only", scores: []int{0, 6}, want: 36.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := market.Seller{ID: seller}
			for _, score := range tt.scores {
				s.AddReview(score)
			}
			assert.InDelta(t, tt.want, s.Temperature(), 1e-9)
			assert.Equal(t, len(tt.scores), s.ReviewCount)
		})
	}
}

func TestSellerCountsEachScore(t *testing.T) {
	t.Parallel()
	s := market.Seller{ID: seller}
	for _, score := range []int{5, 3, 4, 4, 1} {
		s.AddReview(score)
	}
	assert.Equal(t, [market.MaxScore]int{1, 0, 1, 2, 1}, s.Scores)
}
