package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/functions/app"
)

// The change log (app.ChangeLog) is its own table, "changes": one row per
// aggregate written per time bucket, put in the transaction that writes
// the aggregate, so it commits or fails with it. Its partition key is the
// bucket (app.ChangeBucket wide, by commit time) and one of changeShards
// shards, chosen by the item id, so that one bucket's writes spread over
// several partitions instead of making one hot; its sort key is
// "<kind>|<id>", so an aggregate written many times in a bucket is one row.
// A reader of a window queries each bucket's shards with strongly
// consistent reads of the base table: no scan, no index lag, a cost in
// proportion to the buckets read and the changes they hold. Rows expire
// after changeTTL. A table of its own, rather than a sparse index
// attribute on each aggregate's row, also lists deletes: a deleted
// reservation leaves no row for an index to hold, yet the item it held
// must be reconciled.
//
// The reconciler's checkpoints are rows of the same table, in the
// partition "checkpoint", keyed by reader name.
const (
	changeShards     = 4
	changeTTL        = 7 * 24 * time.Hour
	checkpointBucket = "checkpoint"
	bucketLayout     = "2006-01-02T15:04:05Z"
)

// changeBucket is the partition of the changes of item itemID stamped at.
func changeBucket(at time.Time, shard uint32) string {
	return fmt.Sprintf("%s#%d", app.ChangeBucketOf(at).Format(bucketLayout), shard)
}

func changeShard(itemID string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(itemID))
	return h.Sum32() % changeShards
}

// change remembers that the attempt writes an aggregate; Commit logs it.
func (t *tx) change(kind app.ChangeKind, id, itemID string) {
	t.changed = append(t.changed, app.Change{Kind: kind, ID: id, ItemID: itemID})
}

// changeActions are the puts of the change log rows of what the attempt
// writes, stamped at.
func (t *tx) changeActions(at time.Time) ([]types.TransactWriteItem, error) {
	seen := map[string]bool{}
	var out []types.TransactWriteItem
	for _, c := range t.changed {
		rec := changeRecord{Bucket: changeBucket(at, changeShard(c.ItemID)), Key: changeKey(c),
			Kind: string(c.Kind), ID: c.ID, ItemID: c.ItemID, ExpiresAt: at.Add(changeTTL).Unix()}
		if seen[rec.Bucket+rec.Key] {
			continue
		}
		seen[rec.Bucket+rec.Key] = true
		item, err := marshal(rec, 0)
		if err != nil {
			return nil, err
		}
		w, err := put(t.s.t.changes, item, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// changeCursor is where a listing of the change log stopped: a bucket, a
// shard and the last key read there.
type changeCursor struct {
	Bucket string `json:"b"`
	Shard  uint32 `json:"s"`
	Key    string `json:"k"`
}

// Changed implements app.ChangeLog: it queries the shards of each bucket
// of the window in turn.
func (s *Store) Changed(ctx context.Context, since, until time.Time, p app.Page) ([]app.Change, string, error) {
	limit, err := app.PageLimit(p)
	if err != nil {
		return nil, "", err
	}
	from, to := app.ChangeBucketOf(since), app.ChangeBucketOf(until)
	b, shard := from, uint32(0)
	var start map[string]types.AttributeValue
	if p.Cursor != "" {
		c, err := decodeChangeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		at, err := time.Parse(bucketLayout, c.Bucket)
		if err != nil || at.Before(from) || !at.Before(to) || c.Shard >= changeShards {
			return nil, "", app.BadCursor()
		}
		b, shard = at, c.Shard
		start = key2("bucket", changeBucket(b, shard), "key", c.Key)
	}
	var out []app.Change
	for ; b.Before(to); b, shard, start = b.Add(app.ChangeBucket), 0, nil {
		for ; shard < changeShards; shard, start = shard+1, nil {
			partition := changeBucket(b, shard)
			for {
				cond := expression.Key("bucket").Equal(expression.Value(partition))
				expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
				if err != nil {
					return nil, "", internalf("dynamo: change log query: %w", err)
				}
				res, err := s.client.Query(ctx, &dynamodb.QueryInput{
					TableName: aws.String(s.t.changes), KeyConditionExpression: expr.KeyCondition(),
					ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
					ExclusiveStartKey: start, ConsistentRead: aws.Bool(true), Limit: aws.Int32(int32(limit - len(out))),
				})
				if err != nil {
					return nil, "", fail("reading the change log", err)
				}
				changes, err := decodeAll(res.Items, "the change log", changeRecord.change)
				if err != nil {
					return nil, "", err
				}
				out = append(out, changes...)
				if len(out) == limit && len(changes) > 0 {
					last := changeKey(changes[len(changes)-1])
					return out, encodeChangeCursor(changeCursor{Bucket: b.Format(bucketLayout), Shard: shard, Key: last}), nil
				}
				if res.LastEvaluatedKey == nil {
					break
				}
				start = res.LastEvaluatedKey
			}
		}
	}
	return out, "", nil
}

func encodeChangeCursor(c changeCursor) string {
	b, _ := json.Marshal(c) // strings and a number always encode
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeChangeCursor(cursor string) (changeCursor, error) {
	var c changeCursor
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Bucket == "" || c.Key == "" {
		return c, app.BadCursor()
	}
	return c, nil
}

// Checkpoint implements app.ChangeLog.
func (s *Store) Checkpoint(ctx context.Context, name string) (time.Time, error) {
	var rec checkpointRecord
	found, err := s.get(ctx, s.t.changes, key2("bucket", checkpointBucket, "key", name), &rec, "checkpoint")
	if err != nil || !found {
		return time.Time{}, err
	}
	return rec.At.UTC(), nil
}

// SetCheckpoint implements app.ChangeLog: a put conditional on the
// checkpoint as read.
func (s *Store) SetCheckpoint(ctx context.Context, name string, from, to time.Time) error {
	cond := expression.AttributeNotExists(expression.Name("key"))
	if !from.IsZero() {
		cond = expression.Name("at").Equal(expression.Value(from.UTC()))
	}
	put, _, err := s.putRow(ctx, s.t.changes, checkpointRecord{Bucket: checkpointBucket, Key: name, At: to.UTC()}, &cond, nil, "writing the checkpoint")
	if err == nil && !put {
		return app.ErrStale
	}
	return err
}
