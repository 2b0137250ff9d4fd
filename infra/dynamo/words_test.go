package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
)

// The word index holds the rows of an item's committed state alone: an
// edit, a lost race and a delete leave no row of what they replaced, and
// a row no commit owns (a crash between its write and the transaction)
// is never shown.
func TestWordIndexHoldsTheCommittedState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := dynamotest.MustClient(t)
	prefix := dynamotest.MustTables(t, client)
	store := dynamo.New(client, prefix)
	feed := prefix + dynamo.TableFeed

	// rows counts the item's rows in a token's partition.
	rows := func(token string) int {
		out, err := client.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(feed), ConsistentRead: aws.Bool(true),
			KeyConditionExpression:    aws.String("feed = :f"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":f": &types.AttributeValueMemberS{Value: dynamo.WordFeed(token)}}})
		require.NoError(t, err)
		return len(out.Items)
	}
	found := func(q string) []string {
		items, _, err := store.Items(ctx, app.ItemFilter{Query: q}, app.Page{})
		require.NoError(t, err)
		var ids []string
		for _, it := range items {
			ids = append(ids, it.ID())
		}
		return ids
	}
	rename := func(tx app.Tx, name string) error {
		it, err := tx.Item("phone")
		if err != nil {
			return err
		}
		if err := it.Update("ann", market.ItemPatch{Name: &name}, time.Now()); err != nil {
			return err
		}
		tx.SaveItem(it)
		return nil
	}

	it, err := market.NewItem("phone", "ann", market.ItemDetails{Name: "아이폰 12", Category: "digital", Price: 1000, Region: "seoul"}, time.Now())
	require.NoError(t, err)
	require.NoError(t, write(store, func(tx app.Tx) { tx.SaveItem(it) }))
	assert.Equal(t, 1, rows("아이"))
	assert.Equal(t, 1, rows("12"))

	_, err = store.Update(ctx, func(tx app.Tx) error { return rename(tx, "갤럭시 12") })
	require.NoError(t, err)
	assert.Zero(t, rows("아이"), "the edit drops the rows of the words it removed")
	assert.Equal(t, 1, rows("갤럭"))
	assert.Equal(t, 1, rows("12"), "a kept word has the row of the new state alone")
	assert.Empty(t, found("아이폰"))
	assert.Equal(t, []string{"phone"}, found("갤럭시"))

	// The first attempt loses its race to an edit made meanwhile; its rows
	// go with it, and the attempt that commits leaves one row a token.
	attempts := 0
	_, err = store.Update(ctx, func(tx app.Tx) error {
		attempts++
		if err := rename(tx, "갤럭시 14"); err != nil || attempts > 1 {
			return err
		}
		_, err := store.Update(ctx, func(tx app.Tx) error { return rename(tx, "갤럭시 13") })
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, 2, attempts)
	assert.Equal(t, 1, rows("갤럭"))
	assert.Zero(t, rows("13"))
	assert.Equal(t, []string{"phone"}, found("14"))

	// A row whose nonce the item does not hold is never shown.
	orphan := map[string]types.AttributeValue{
		"feed":   &types.AttributeValueMemberS{Value: dynamo.WordFeed("갤럭")},
		"at":     &types.AttributeValueMemberS{Value: app.FeedOrder(it.CreatedAt(), "phone") + "#0000"},
		"itemId": &types.AttributeValueMemberS{Value: "phone"}, "region": &types.AttributeValueMemberS{Value: "seoul"},
		"category": &types.AttributeValueMemberS{Value: "digital"}, "price": &types.AttributeValueMemberN{Value: "1000"},
	}
	_, err = client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(feed), Item: orphan})
	require.NoError(t, err)
	assert.Equal(t, []string{"phone"}, found("갤럭시"), "shown once, from its committed row")

	_, err = store.Update(ctx, func(tx app.Tx) error {
		it, err := tx.Item("phone")
		if err != nil {
			return err
		}
		tx.DeleteItem(it)
		return nil
	})
	require.NoError(t, err)
	assert.Zero(t, rows("14"))
	assert.Equal(t, 1, rows("갤럭"), "the orphan is left, and hidden")
	assert.Empty(t, found("갤럭시"))
}
