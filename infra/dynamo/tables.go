package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/functions/registry"
)

// Logical table names (declared by functions/registry); the physical name
// of each is the table prefix followed by one of these, e.g.
// "carrot-items".
const (
	TableItems        = string(registry.TableItems)
	TableReservations = string(registry.TableReservations)
	TableMessages     = string(registry.TableMessages)
	TablePayments     = string(registry.TablePayments)
	TableReviews      = string(registry.TableReviews)
	TableSellers      = string(registry.TableSellers)
	TableClaims       = string(registry.TableClaims)
	TableOutbox       = string(registry.TableOutbox)
	TableHandled      = string(registry.TableHandled)
	TableIdempotency  = string(registry.TableIdempotency)
	TableMyPage       = string(registry.TableMyPage)
	TableMyPageDeals  = string(registry.TableMyPageDeals)
	TableChanges      = string(registry.TableChanges)
	TableFeed         = string(registry.TableFeed)
)

// Index names of the global secondary indexes.
const (
	IndexBySeller = "bySeller"
	IndexByBuyer  = "byBuyer"
	IndexNewest   = "newest"
	IndexByItem   = "byItem"
)

// Attribute names shared by the schema and the store.
const (
	attrVersion   = "version"
	attrExpiresAt = "expiresAt"
)

// Table describes one DynamoDB table. It is the single definition of
// carrot's schema: tests, the local runtime and provisioning all create
// tables from it, so they cannot drift apart. Every key attribute is a
// string.
type Table struct {
	Name         string // physical name, prefix included
	PartitionKey string
	SortKey      string // "" when the table has none
	Indexes      []Index
	// TTLAttribute names a number attribute holding a Unix time in
	// seconds after which DynamoDB may delete the row ("" for none).
	// Deletion is lazy (up to days late), so readers must treat an
	// expired row as absent themselves.
	TTLAttribute string
}

// Index is a global secondary index projecting all attributes. It is
// eventually consistent: a row written a moment ago may be missing from it.
// A row whose index key attribute is absent is not in the index; an empty
// string is not allowed as an index key, so writers omit empty ones.
type Index struct {
	Name         string
	PartitionKey string
	SortKey      string
}

// Tables returns carrot's tables under prefix, e.g. "carrot-".
func Tables(prefix string) []Table {
	t := func(name, pk, sk string, idx ...Index) Table {
		return Table{Name: prefix + name, PartitionKey: pk, SortKey: sk, Indexes: idx}
	}
	withTTL := func(tb Table) Table {
		tb.TTLAttribute = attrExpiresAt
		return tb
	}
	return []Table{
		t(TableItems, "itemId", "", Index{Name: IndexBySeller, PartitionKey: "sellerId", SortKey: "itemId"}),
		t(TableReservations, "rsvId", ""),
		// Message ids are time-ordered (UUIDv7), so the sort key order is
		// the order of posting.
		t(TableMessages, "rsvId", "messageId"),
		t(TablePayments, "payId", ""),
		// One review per reservation: the key is the reservation id. An
		// item's and a seller's reviews are read newest first from the
		// indexes, sorted by "newest" (creation time, then review id).
		t(TableReviews, "rsvId", "", Index{Name: IndexByItem, PartitionKey: "itemId", SortKey: "newest"},
			Index{Name: IndexBySeller, PartitionKey: "sellerId", SortKey: "newest"}),
		t(TableSellers, "sellerId", ""),
		t(TableClaims, "key", ""),
		t(TableOutbox, "id", ""),
		withTTL(t(TableHandled, "key", "")),
		withTTL(t(TableIdempotency, "key", "")),
		// Every row is in the one partition of the newest index, so that
		// MyPage pages newest first by Query (views.go).
		t(TableMyPage, "itemId", "", Index{Name: IndexBySeller, PartitionKey: "sellerId", SortKey: "itemId"},
			Index{Name: IndexNewest, PartitionKey: "shard", SortKey: "itemId"}),
		t(TableMyPageDeals, "itemId", "rsvId", Index{Name: IndexByBuyer, PartitionKey: "buyerId", SortKey: "rsvId"}),
		// The change log and the reconciler's checkpoints (changes.go).
		withTTL(t(TableChanges, "bucket", "key")),
		// The item listings (feeds.go): one row per item and feed.
		t(TableFeed, "feed", "at"),
	}
}

// CreateTableInput returns the request that creates the table, billed per
// request. It does not enable TTL: that is a separate call (CreateTables
// makes it).
func (t Table) CreateTableInput() *dynamodb.CreateTableInput {
	attrs := map[string]bool{}
	var defs []types.AttributeDefinition
	def := func(name string) {
		if name != "" && !attrs[name] {
			attrs[name] = true
			defs = append(defs, types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS})
		}
	}
	key := func(pk, sk string) []types.KeySchemaElement {
		def(pk)
		ks := []types.KeySchemaElement{{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash}}
		if sk != "" {
			def(sk)
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange})
		}
		return ks
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(t.Name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   key(t.PartitionKey, t.SortKey),
	}
	for _, ix := range t.Indexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  key(ix.PartitionKey, ix.SortKey),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	in.AttributeDefinitions = defs
	return in
}

// CreateTables creates every table under prefix that does not exist yet,
// adds the indexes a table made by an older carrot lacks (addIndexes),
// waits until all are active and enables their TTL. It is idempotent and
// safe to run from several processes at once; it never changes a table's
// key schema, so run it while wiring and fail fast.
func CreateTables(ctx context.Context, client *dynamodb.Client, prefix string) error {
	tables := Tables(prefix)
	for _, t := range tables {
		_, err := client.CreateTable(ctx, t.CreateTableInput())
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("dynamo: create table %s: %w", t.Name, err)
		}
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, 5*time.Second
	})
	for _, t := range tables {
		if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)}, 5*time.Minute); err != nil {
			return fmt.Errorf("dynamo: wait for table %s: %w", t.Name, err)
		}
		if err := addIndexes(ctx, client, t); err != nil {
			return err
		}
		if t.TTLAttribute == "" {
			continue
		}
		if err := enableTTL(ctx, client, t); err != nil {
			return err
		}
	}
	return nil
}

// addIndexes creates, one at a time as DynamoDB requires, the indexes t
// declares that its table lacks, and returns once every one is active. A
// local data folder kept across an upgrade (make run's .data) so gains the
// indexes the new reads query; the rows the index did not exist for are
// backfilled by DynamoDB. Two processes adding one index at once are fine:
// the loser is refused and waits like the winner.
func addIndexes(ctx context.Context, client *dynamodb.Client, t Table) error {
	want := t.CreateTableInput()
	var last error // the last transient refusal, for the timeout's error
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
		if err != nil {
			return fmt.Errorf("dynamo: describe table %s: %w", t.Name, err)
		}
		have := map[string]types.IndexStatus{}
		for _, ix := range out.Table.GlobalSecondaryIndexes {
			have[aws.ToString(ix.IndexName)] = ix.IndexStatus
		}
		var missing *types.GlobalSecondaryIndex
		busy := false
		for _, ix := range want.GlobalSecondaryIndexes {
			switch status, ok := have[aws.ToString(ix.IndexName)]; {
			case !ok && missing == nil:
				missing = &ix
			case ok && status != types.IndexStatusActive:
				busy = true
			}
		}
		switch {
		case missing == nil && !busy:
			return nil
		case missing != nil && !busy:
			_, err := client.UpdateTable(ctx, &dynamodb.UpdateTableInput{
				TableName:            aws.String(t.Name),
				AttributeDefinitions: want.AttributeDefinitions,
				GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
					IndexName: missing.IndexName, KeySchema: missing.KeySchema, Projection: missing.Projection,
				}}},
			})
			// A table busy with another update, a limit of concurrent index
			// builds and a server error (DynamoDB Local answers some
			// UpdateTables made right after a CreateTable with a 500) pass;
			// the loop describes the table again and retries.
			var inUse *types.ResourceInUseException
			var limit *types.LimitExceededException
			var server *awshttp.ResponseError
			transient := errors.As(err, &inUse) || errors.As(err, &limit) || (errors.As(err, &server) && server.HTTPStatusCode() >= 500)
			if err != nil && !transient {
				return fmt.Errorf("dynamo: add index %s to %s: %w", aws.ToString(missing.IndexName), t.Name, err)
			}
			if err != nil {
				last = err
			}
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("dynamo: wait for the indexes of %s: %w (last refusal: %v)", t.Name, ctx.Err(), last)
			}
			return fmt.Errorf("dynamo: wait for the indexes of %s: %w", t.Name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func enableTTL(ctx context.Context, client *dynamodb.Client, t Table) error {
	if on, err := ttlEnabled(ctx, client, t); err != nil || on {
		return err
	}
	_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(t.Name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		// Two processes enabling TTL at once: the loser is refused, yet
		// TTL ends up enabled, which is all it wanted.
		if on, _ := ttlEnabled(ctx, client, t); on {
			return nil
		}
		return fmt.Errorf("dynamo: enable TTL on %s: %w", t.Name, err)
	}
	return nil
}

func ttlEnabled(ctx context.Context, client *dynamodb.Client, t Table) (bool, error) {
	d, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(t.Name)})
	if err != nil {
		return false, fmt.Errorf("dynamo: describe TTL of %s: %w", t.Name, err)
	}
	ttl := d.TimeToLiveDescription
	return ttl != nil && deref(ttl.AttributeName) == t.TTLAttribute &&
		(ttl.TimeToLiveStatus == types.TimeToLiveStatusEnabled || ttl.TimeToLiveStatus == types.TimeToLiveStatusEnabling), nil
}

// DeleteTables deletes every table under prefix that exists. Tests use it
// to clean up; never point it at a production prefix.
func DeleteTables(ctx context.Context, client *dynamodb.Client, prefix string) error {
	var errs []error
	for _, t := range Tables(prefix) {
		_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(t.Name)})
		var missing *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &missing) {
			errs = append(errs, fmt.Errorf("dynamo: delete table %s: %w", t.Name, err))
		}
	}
	return errors.Join(errs...)
}
