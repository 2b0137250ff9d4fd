package tests

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/tests/system"
)

// TestTriggerDelivery drives the mypage trigger's delivery contract on a
// running system: a subscriber failing transiently (500) is retried until
// the event is applied, and a poison event sent by hand to the broker
// ingress is not retried but lands in the dead-letter topic with
// knativeerrorcode 400.
func TestTriggerDelivery(t *testing.T) {
	sys := MustStart(t, system.Options{})

	// A first item warms the mypage function up, so that what follows
	// meets a running instance.
	sys.MustWarmUp(t)

	t.Run("a transient failure is retried until the event is applied", func(t *testing.T) {
		before := sys.MustStatus(t).Trigger("mypage")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Without its view table the mypage function answers 500 to every
		// delivery (storage failed), which the broker retries for 13
		// minutes (40 retries, linear from 1 s). The table comes back as
		// soon as the first failure is logged.
		table := sys.Prefix + dynamo.TableMyPage
		_, err := sys.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		require.NoError(t, err)
		require.NoError(t, dynamodb.NewTableNotExistsWaiter(sys.DynamoDB).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, time.Minute))

		itemID := sys.MustRegister(t, seller, "radio", 3000)
		require.Eventually(t, func() bool {
			return len(sys.Lines(`"function":"mypage"`, "event failed; the broker will retry it", itemID)) > 0
		}, settle, 20*time.Millisecond, "the mypage function never failed the event of item %s", itemID)
		require.NoError(t, dynamo.CreateTables(ctx, sys.DynamoDB, sys.Prefix))

		sys.EventuallyPage(t, seller, itemID, map[string]any{"itemName": "radio", "itemStatus": "CREATED", "price": 3000})
		after := sys.EventuallyQuiet(t).Trigger("mypage")
		assert.Greater(t, after.Retried, before.Retried, "mypage trigger: %+v", after)
		// The event may be on the topic twice: the outbox relay, running in
		// its own process, may send it before register-item marks it sent.
		records := 0
		for _, e := range sys.Events(t, brokerTopic) {
			if e.Subject() == itemID {
				records++
			}
		}
		require.Positive(t, records)
		assert.Equal(t, before.Delivered+int64(records), after.Delivered, "mypage trigger: %+v", after)
		assert.Equal(t, before.DeadLettered, after.DeadLettered, "mypage trigger: %+v", after)
		assert.Equal(t, before.Dropped, after.Dropped, "mypage trigger: %+v", after)
	})

	t.Run("a poison event lands in the dead-letter sink", func(t *testing.T) {
		before := sys.EventuallyQuiet(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// An item registered with no seller and no status can never be
		// projected: the mypage function answers 400.
		e := cloudevents.NewEvent()
		e.SetID(fmt.Sprintf("poison-%d", time.Now().UnixNano()))
		e.SetType(string(events.ItemRegistered))
		e.SetSource("/tests/e2e")
		e.SetSubject("no-such-item")
		e.SetExtension(events.PartitionKeyExtension, "no-such-item")
		require.NoError(t, e.SetData(cloudevents.ApplicationJSON, map[string]any{"itemId": "no-such-item", "name": "ghost"}))
		client, err := cloudevents.NewClientHTTP()
		require.NoError(t, err)
		result := client.Send(binding.WithForceBinary(cloudevents.ContextWithTarget(ctx, sys.Cluster+system.BrokerIngressPath)), e)
		require.True(t, cloudevents.IsACK(result), "the broker ingress refused the event: %v", result)

		require.EventuallyWithT(t, func(c *assert.CollectT) {
			st, err := sys.Status(t.Context())
			if assert.NoError(c, err) {
				assert.Equal(c, before.Trigger("mypage").DeadLettered+1, st.Trigger("mypage").DeadLettered)
			}
		}, settle, tick, "the poison event was not dead-lettered")
		after := sys.EventuallyQuiet(t)
		assert.Equal(t, before.Trigger("mypage").Retried, after.Trigger("mypage").Retried, "a 400 was retried")
		assert.Equal(t, before.Trigger("mypage").Delivered, after.Trigger("mypage").Delivered)
		for _, other := range []string{"item-policy", "reservation-policy"} {
			assert.Equal(t, before.Trigger(other).Filtered+1, after.Trigger(other).Filtered, "trigger %s did not filter the event out", other)
			assert.Equal(t, before.Trigger(other).DeadLettered, after.Trigger(other).DeadLettered, "trigger %s", other)
		}

		var letter *cloudevents.Event
		for _, dl := range sys.Events(t, deadLetterTopic) {
			if dl.ID() == e.ID() {
				letter = &dl
			}
		}
		require.NotNil(t, letter, "the poison event is not in topic %s", deadLetterTopic)
		ext := letter.Extensions()
		assert.Equal(t, "400", fmt.Sprint(ext["knativeerrorcode"]), "extensions %v", ext)
		assert.Contains(t, fmt.Sprint(ext["knativeerrordest"]), "/functions/mypage/", "extensions %v", ext)
		assert.Equal(t, e.Type(), letter.Type())
		assert.Equal(t, e.Source(), letter.Source())
		assert.JSONEq(t, string(e.Data()), string(letter.Data()))

		res := sys.MustDo(t, seller, http.MethodGet, "/myPages/no-such-item", nil)
		assert.Equal(t, http.StatusNotFound, res.Status, "the poison event reached MyPage: %s", res)
	})

	sys.MustStop(t)
}
