package dynamo

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// PendingEvents returns up to limit events that were committed but not yet
// marked sent, oldest commit first and in op order within a commit; limit
// <= 0 returns all of them. It reads the whole outbox with consistent
// reads and sorts it, which is cheap because sent rows are deleted: keep
// the relay running so the outbox stays small.
//
// Events come back exactly as they were published, extensions included.
// Order across commits follows the committing processes' clocks, so it is
// the order of facts only per item, where the domain's conditional writes
// serialise commits; consumers rely on no more than that.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]cloudevents.Event, error) {
	var recs []outboxRecord
	if err := scanAll(ctx, s, s.t.outbox, "the outbox", func(r outboxRecord) { recs = append(recs, r) }); err != nil {
		return nil, err
	}
	sort.Slice(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if a.CreatedAt != b.CreatedAt {
			return a.CreatedAt < b.CreatedAt
		}
		if a.Seq != b.Seq {
			return a.Seq < b.Seq
		}
		return a.ID < b.ID
	})
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	evs := make([]cloudevents.Event, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal([]byte(r.Event), &evs[i]); err != nil {
			return nil, internalf("dynamo: outbox row %s holds no CloudEvent: %w", r.ID, err)
		}
	}
	return evs, nil
}

// maxBatchWrite is DynamoDB's limit of requests in one BatchWriteItem.
const maxBatchWrite = 25

// MarkSent deletes the outbox rows of the events with these ids. Unknown
// ids are ignored, so marking twice is harmless. Call it only after the
// broker acknowledged the events: a crash in between sends them again,
// which at-least-once consumers tolerate.
func (s *Store) MarkSent(ctx context.Context, ids ...string) error {
	seen := map[string]bool{}
	var reqs []types.WriteRequest
	for _, id := range ids {
		if id == "" || seen[id] {
			continue // BatchWriteItem refuses duplicate keys in one call
		}
		seen[id] = true
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key("id", id)}})
	}
	for len(reqs) > 0 {
		n := min(len(reqs), maxBatchWrite)
		if err := s.batchWrite(ctx, s.t.outbox, reqs[:n], "updating the outbox"); err != nil {
			return err
		}
		reqs = reqs[n:]
	}
	return nil
}

// batchWriteAll writes reqs by batches of maxBatchWrite (batchWrite).
func (s *Store) batchWriteAll(ctx context.Context, table string, reqs []types.WriteRequest, what string) error {
	for len(reqs) > 0 {
		n := min(len(reqs), maxBatchWrite)
		if err := s.batchWrite(ctx, table, reqs[:n], what); err != nil {
			return err
		}
		reqs = reqs[n:]
	}
	return nil
}

// batchWrite writes reqs, at most maxBatchWrite of them, and retries the
// ones DynamoDB left unprocessed (throttling), backing off, until all are
// done or ctx ends; what names the work in its errors.
func (s *Store) batchWrite(ctx context.Context, table string, reqs []types.WriteRequest, what string) error {
	backoff := 50 * time.Millisecond
	for {
		res, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
		if err != nil {
			return fail(what, err)
		}
		reqs = res.UnprocessedItems[table]
		if len(reqs) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fail(what, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
