package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

// Reconciler is anti-entropy (SPEC section 5: a scheduled reconciler
// repairs any cross-aggregate state that still disagrees). A PingSource
// wakes it; each run reads the change log (ChangeLog) from its checkpoint
// up to now minus Settle, bucket by bucket, and brings every item written
// in a bucket, and the reservations, payments and reviews written with
// it, in line with their sources through the very steps the policies run:
// a reservation follows its payment (FollowPayment), an item the
// reservation that holds it (FollowReservation), a review is counted once
// (ScoreItem, deduplicated with the item policy's own fact records), and
// the item's MyPage rows follow their sources (Project). So a fact that was
// truly lost, dead-lettered and never re-driven, is made good within a
// run, and state converges.
//
// A run reads only what changed since the last one: its cost follows the
// rate of writes, never the size of the catalogue. Each repair emits the
// fact the policy would have, with an id derived from a cause that names
// the aggregates and versions it repairs, so two runs repairing the same
// disagreement emit the same fact. A run is idempotent: running it again
// over the same window repairs nothing. Runs should not overlap (the
// function's max-scale is 1); if they do, the checkpoint is moved by one
// and every repair is still a conditional unit of work.
type Reconciler struct {
	Service *Service
	Changes ChangeLog
	// ScoredBy is the consumer that counts reviews into scores (the item
	// policy's source): the reconciler marks a review counted under its
	// name, so the two never count one review twice.
	ScoredBy string
	// Name keys the checkpoint; default "reconciler".
	Name string
	// Settle keeps the run behind the policies still at work: buckets
	// newer than now minus Settle wait for the next run. Default 30s.
	Settle time.Duration
	// MaxWindow bounds the buckets one run reads (a first run starts
	// MaxWindow back; a run after a long pause catches up over several).
	// Default one hour.
	MaxWindow time.Duration
}

// Reconciliation is what one run read and repaired.
type Reconciliation struct {
	Since, Until time.Time // the window read, [Since, Until)
	Changes      int       // entries of the change log read
	Items        int       // items checked (once per bucket they changed in)
	Repairs      []Repair
	Skipped      []Repair // disagreements a step refused to repair, with the reason
}

// Repair is one disagreement put right: which step, on which ids, and the
// fact it emitted ("" for MyPage, which emits nothing).
type Repair struct {
	Step    string // "reservation follows payment", "item follows reservation", "review counted", "mypage follows sources"
	ItemID  string
	ID      string // the reservation, review's reservation or payment repaired from
	Fact    events.Type
	EventID string
	Reason  string // for a skipped one
}

const (
	stepPayment = "reservation follows payment"
	stepHolder  = "item follows reservation"
	stepScore   = "review counted"
	stepMyPage  = "mypage follows sources"
)

func (r *Reconciler) setDefaults() {
	if r.Name == "" {
		r.Name = "reconciler"
	}
	if r.Settle <= 0 {
		r.Settle = 30 * time.Second
	}
	if r.MaxWindow <= 0 {
		r.MaxWindow = time.Hour
	}
}

// Run reconciles what changed since the last run. It advances the
// checkpoint after each bucket it finished; a transient failure stops the
// run with an error and the next run starts again from the bucket that
// failed. A step the domain refuses (a conflict no event would resolve
// either) is reported in Skipped and does not hold the checkpoint.
func (r *Reconciler) Run(ctx context.Context) (Reconciliation, error) {
	r.setDefaults()
	until := ChangeBucketOf(r.Service.now().Add(-r.Settle))
	since, err := r.Changes.Checkpoint(ctx, r.Name)
	if err != nil {
		return Reconciliation{}, err
	}
	checkpoint := since
	if since.IsZero() {
		since = until.Add(-r.MaxWindow)
	}
	since = ChangeBucketOf(since)
	if until.Sub(since) > r.MaxWindow {
		until = since.Add(r.MaxWindow)
	}
	out := Reconciliation{Since: since, Until: since}
	for b := since; b.Before(until); b = b.Add(ChangeBucket) {
		if err := r.bucket(ctx, b, &out); err != nil {
			return out, err
		}
		next := b.Add(ChangeBucket)
		if err := r.Changes.SetCheckpoint(ctx, r.Name, checkpoint, next); err != nil {
			return out, err
		}
		checkpoint, out.Until = next, next
	}
	return out, nil
}

// touched is what changed of one item in one bucket.
type touched struct {
	rsvs, pays, reviews []string
}

// bucket reconciles every item changed in the bucket starting at b.
func (r *Reconciler) bucket(ctx context.Context, b time.Time, out *Reconciliation) error {
	byItem := map[string]*touched{}
	var cursor string
	for {
		changes, next, err := r.Changes.Changed(ctx, b, b.Add(ChangeBucket), Page{Limit: MaxPageLimit, Cursor: cursor})
		if err != nil {
			return err
		}
		out.Changes += len(changes)
		for _, c := range changes {
			t := byItem[c.ItemID]
			if t == nil {
				t = &touched{}
				byItem[c.ItemID] = t
			}
			switch c.Kind {
			case ChangedReservation:
				t.rsvs = append(t.rsvs, c.ID)
			case ChangedPayment:
				t.pays = append(t.pays, c.ID)
			case ChangedReview:
				t.reviews = append(t.reviews, c.ID)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	items := make([]string, 0, len(byItem))
	for id := range byItem {
		items = append(items, id)
	}
	slices.Sort(items)
	for _, itemID := range items {
		out.Items++
		if err := r.item(ctx, itemID, byItem[itemID], out); err != nil {
			return err
		}
	}
	return nil
}

// item runs the policies' steps for one changed item, in the order the
// choreography runs them: payments move reservations, reservations move
// the item, reviews score it, and MyPage follows them all.
func (r *Reconciler) item(ctx context.Context, itemID string, t *touched, out *Reconciliation) error {
	// outcome files a step's result: a domain refusal is skipped, anything
	// else (DynamoDB down) stops the run.
	outcome := func(step, id string, e *cloudevents.Event, err error) error {
		switch code := market.ErrorCode(err); {
		case err == nil && e != nil:
			out.Repairs = append(out.Repairs, Repair{Step: step, ItemID: itemID, ID: id, Fact: events.Type(e.Type()), EventID: e.ID()})
		case err == nil, err == ErrDuplicate:
		case code == market.Internal || code == market.Unavailable:
			return fmt.Errorf("reconcile %s %s of item %s: %w", step, id, itemID, err)
		default:
			out.Skipped = append(out.Skipped, Repair{Step: step, ItemID: itemID, ID: id, Reason: err.Error()})
		}
		return nil
	}
	// each runs step on every id in turn, filing each outcome.
	each := func(step string, ids []string, run func(context.Context, string) (*cloudevents.Event, error)) error {
		for _, id := range ids {
			e, err := run(ctx, id)
			if err := outcome(step, id, e, err); err != nil {
				return err
			}
		}
		return nil
	}
	if err := each(stepPayment, t.pays, r.followPayment); err != nil {
		return err
	}
	for _, rsvID := range t.rsvs {
		payIDs, err := r.paymentsOf(ctx, rsvID)
		if err := outcome(stepPayment, rsvID, nil, err); err != nil {
			return err
		}
		if err := each(stepPayment, payIDs, r.followPayment); err != nil {
			return err
		}
	}
	if err := each(stepScore, t.reviews, r.score); err != nil {
		return err
	}
	if err := each(stepHolder, []string{itemID}, r.followHolder); err != nil {
		return err
	}
	return r.project(ctx, itemID, t, out, outcome)
}

// cause is the synthetic event a repair reacts to: its id names the
// aggregates and versions the repair brings in line, so two runs repairing
// one disagreement emit the same fact, and its source is the reconciler's.
func (r *Reconciler) cause(id string) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource(r.Service.Source)
	e.SetType("carrot.reconcile")
	return e
}

// paymentsOf returns the payments reservation rsvID should follow: the
// one it records (which may since be cancelled) first, then its approved
// one.
func (r *Reconciler) paymentsOf(ctx context.Context, rsvID string) ([]string, error) {
	var payIDs []string
	_, err := r.Service.Store.Update(ctx, func(tx Tx) error {
		payIDs = nil
		rsv, err := found(tx.Reservation(rsvID))
		if err != nil || rsv == nil {
			return err
		}
		approved, err := tx.ApprovedPayment(rsvID)
		if err != nil {
			return err
		}
		for _, id := range []string{rsv.PayID(), approved} {
			if id != "" && !slices.Contains(payIDs, id) {
				payIDs = append(payIDs, id)
			}
		}
		return nil
	})
	return payIDs, err
}

// followPayment: the reservation of payment payID follows it (FollowPayment).
func (r *Reconciler) followPayment(ctx context.Context, payID string) (*cloudevents.Event, error) {
	return r.Service.repair(ctx, func(tx Tx) (cloudevents.Event, events.Type, events.Payload, error) {
		p, err := found(tx.Payment(payID))
		if err != nil || p == nil {
			return cloudevents.Event{}, "", nil, err
		}
		rsv, err := found(tx.Reservation(p.RsvID()))
		if err != nil || rsv == nil {
			return cloudevents.Event{}, "", nil, err
		}
		cause := r.cause(fmt.Sprintf("reservation/%s@%d/payment/%s@%d", rsv.ID(), rsv.Version(), p.ID(), p.Version()))
		typ, out, err := r.Service.followPayment(tx, rsv, p)
		return cause, typ, out, err
	})
}

// followHolder: the item follows the reservation that holds it
// (FollowReservation): gone, no longer confirmed or paid, it releases
// the item.
func (r *Reconciler) followHolder(ctx context.Context, itemID string) (*cloudevents.Event, error) {
	return r.Service.repair(ctx, func(tx Tx) (cloudevents.Event, events.Type, events.Payload, error) {
		it, err := found(tx.Item(itemID))
		if err != nil || it == nil || it.RsvID() == "" {
			return cloudevents.Event{}, "", nil, err
		}
		holder, err := found(tx.Reservation(it.RsvID()))
		if err != nil {
			return cloudevents.Event{}, "", nil, err
		}
		held := "gone"
		if holder != nil {
			if holder.ItemID() != itemID {
				return cloudevents.Event{}, "", nil, market.Errorf(market.Conflict, "item %s is held by reservation %s of item %s", itemID, holder.ID(), holder.ItemID())
			}
			held = fmt.Sprint(holder.Version())
		}
		cause := r.cause(fmt.Sprintf("item/%s@%d/reservation/%s@%s", itemID, it.Version(), it.RsvID(), held))
		typ, out, err := r.Service.followHolder(tx, it, it.RsvID(), holder)
		return cause, typ, out, err
	})
}

// score: the review of reservation rsvID is counted into its item's and
// seller's scores unless it was (ScoreItem); ErrDuplicate when it was.
func (r *Reconciler) score(ctx context.Context, rsvID string) (*cloudevents.Event, error) {
	return r.Service.repair(ctx, func(tx Tx) (cloudevents.Event, events.Type, events.Payload, error) {
		rv, err := tx.Review(rsvID)
		if market.ErrorCode(err) == market.NotFound {
			return cloudevents.Event{}, "", nil, nil
		}
		if err != nil {
			return cloudevents.Event{}, "", nil, err
		}
		typ, out, err := r.Service.score(tx, rv, r.ScoredBy)
		return r.cause("review/" + rv.ID), typ, out, err
	})
}

// project brings the item's MyPage rows in line with the sources (Project):
// once for each payment and reservation changed, so their buyers' rows
// follow too, and once for the item itself when neither changed.
func (r *Reconciler) project(ctx context.Context, itemID string, t *touched, out *Reconciliation, outcome func(string, string, *cloudevents.Event, error) error) error {
	s := r.Service
	type named struct{ rsvID, payID string }
	var runs []named
	for _, payID := range t.pays {
		runs = append(runs, named{payID: payID})
	}
	for _, rsvID := range t.rsvs {
		runs = append(runs, named{rsvID: rsvID})
	}
	if len(runs) == 0 {
		runs = append(runs, named{})
	}
	for _, n := range runs {
		wrote, err := s.project(ctx, itemID, s.now(), func() (sources, error) {
			var src sources
			var err error
			rsvID := n.rsvID
			if n.payID != "" {
				if src.pay, err = found(s.Store.Payment(ctx, n.payID)); err != nil {
					return src, err
				}
				if src.pay != nil {
					rsvID = src.pay.RsvID()
				}
			}
			if rsvID != "" {
				src.rsvID = rsvID
				if src.rsv, err = found(s.Store.Reservation(ctx, rsvID)); err != nil {
					return src, err
				}
			}
			return src, s.itemSources(ctx, itemID, &src)
		}, nil)
		id := n.rsvID + n.payID
		if err := outcome(stepMyPage, id, nil, err); err != nil {
			return err
		}
		if wrote && err == nil {
			out.Repairs = append(out.Repairs, Repair{Step: stepMyPage, ItemID: itemID, ID: id})
		}
	}
	return nil
}
