package market

import "time"

// Limits of a review.
const (
	MinScore         = 1
	MaxScore         = 5
	MaxReviewComment = 1000
)

// Review is the buyer's score and comment on a paid deal; one per reservation.
type Review struct {
	ID         string
	RsvID      string
	ItemID     string
	ReviewerID string
	SellerID   string
	Score      int
	Comment    string
	CreatedAt  time.Time
}

// WriteReview lets the buyer of a completed reservation review it.
func WriteReview(id string, r *Reservation, by string, score int, comment string, now time.Time) (Review, error) {
	var f Fields
	if score < MinScore || score > MaxScore {
		f.Add("score", "must be %d to %d", MinScore, MaxScore)
	}
	reviewComment.check(&f, "comment", comment)
	if err := f.Err(); err != nil {
		return Review{}, err
	}
	if err := r.CheckReview(by); err != nil {
		return Review{}, err
	}
	return Review{ID: id, RsvID: r.ID(), ItemID: r.ItemID(), ReviewerID: by, SellerID: r.SellerID(),
		Score: score, Comment: comment, CreatedAt: now}, nil
}

// Seller holds a seller's "manner" score: the mean of the reviews across
// all of their items.
type Seller struct {
	ID          string
	ScoreSum    int
	ReviewCount int
	Version     int64 // 0 until first stored
}

// AddReview counts one review score into the seller's mean.
func (s *Seller) AddReview(score int) {
	s.ScoreSum += score
	s.ReviewCount++
}

// Score is the seller's mean review score, 0 when none.
func (s *Seller) Score() float64 { return mean(s.ScoreSum, s.ReviewCount) }
