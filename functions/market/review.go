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

// Seller holds a seller's reputation across all of their items: the mean
// of their reviews and how many reviews gave each score, from which the
// manner temperature follows in O(1).
type Seller struct {
	ID          string
	ScoreSum    int
	ReviewCount int
	// Scores[s-1] is the number of reviews that gave score s.
	Scores  [MaxScore]int
	Version int64 // 0 until first stored
}

// AddReview counts one review score (MinScore..MaxScore) into the
// seller's mean and manner temperature.
func (s *Seller) AddReview(score int) {
	s.ScoreSum += score
	s.ReviewCount++
	if score >= MinScore && score <= MaxScore {
		s.Scores[score-MinScore]++
	}
}

// Score is the seller's mean review score, 0 when none.
func (s *Seller) Score() float64 { return mean(s.ScoreSum, s.ReviewCount) }

// The manner temperature (README, "Manner temperature"): everyone starts
// at StartTemperature; each review moves it by the step of its score, and
// the sum is held within MinTemperature..MaxTemperature. Steps are kept in
// tenths of a degree so that the sum is exact whatever the number of
// reviews.
const (
	StartTemperature = 36.5
	MinTemperature   = 0.0
	MaxTemperature   = 99.0
)

// temperatureSteps[s-1] is how far one review of score s moves the
// temperature, in tenths of a degree.
var temperatureSteps = [MaxScore]int{-5, -2, 0, 2, 5}

// Temperature is the seller's manner temperature in °C, to one decimal. It
// depends only on how many reviews gave each score, not on their order:
// the bounds hold the sum, not each step.
func (s *Seller) Temperature() float64 {
	tenths := int(StartTemperature * 10)
	for i, n := range s.Scores {
		tenths += n * temperatureSteps[i]
	}
	return float64(min(max(tenths, int(MinTemperature*10)), int(MaxTemperature*10))) / 10
}
