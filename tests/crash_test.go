package tests

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/tests/system"
)

// TestKilledInstanceLeavesConsistentState kills request-chat's busy
// instance with SIGKILL while 20 buyers ask to chat about one item at once.
// Requests cut short answer 503 with Retry-After and nothing of the inside
// (a POST is not sent to another instance); whatever a request committed before the
// kill is whole: every reservation that answered 201 exists, MyPage's
// open chats come to equal the reservations that exist (events of
// commands cut short after their commit arrive through the outbox relay),
// and a new instance replaces the killed one and serves the buyers' next
// requests, each buyer still holding exactly one reservation.
func TestKilledInstanceLeavesConsistentState(t *testing.T) {
	sys := MustStart(t, system.Options{})
	itemID, answers, killed := killDuringChats(t, sys)
	t.Logf("killed %s pid %d; answers: %v", stormFunction, killed, statusCounts(answers))

	created := map[string]string{} // buyer → rsvId answered 201
	for i, res := range answers {
		buyer := buyerName(i)
		switch res.Status {
		case http.StatusCreated:
			created[buyer] = res.JSON(t)["rsvId"].(string)
		case http.StatusServiceUnavailable:
			assert.NotEmpty(t, res.Header.Get("Retry-After"), "%s: %s", buyer, res)
			assert.NotRegexp(t, `127\.0\.0\.1|instance \d|tcp|EOF|reset`, string(res.Body), "%s: nothing of the inside shows", buyer)
		default:
			assert.Fail(t, "a chat answered neither 201 nor 503 (its instance was killed)", "%s: %s", buyer, res)
		}
	}

	// The killed instance is replaced as soon as requests need one.
	for buyer, rsvID := range created {
		res := sys.MustDo(t, buyer, http.MethodGet, "/reservations/"+rsvID, nil)
		if assert.Equal(t, http.StatusOK, res.Status, "reservation %s of %s answered 201: %s", rsvID, buyer, res) {
			rsv := res.JSON(t)
			assert.Equal(t, itemID, rsv["itemId"])
			assert.Equal(t, buyer, rsv["buyerId"])
			assert.Equal(t, "CREATED", rsv["rsvStatus"])
		}
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		st, err := sys.Status(t.Context())
		if !assert.NoError(c, err) {
			return
		}
		f := st.Function(stormFunction)
		assert.GreaterOrEqual(c, f.Replaced, int64(1), "the killed instance is not counted as replaced: %+v", f)
		for _, inst := range f.Instances {
			assert.NotEqual(c, killed, inst.PID, "the killed process is still listed")
		}
	}, settle, tick)

	// A write the killed process had already sent may still commit after
	// it died, with its event relayed from the outbox later: read the
	// reservations until MyPage agrees with them.
	var existing map[string]string
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		existing = reservationsOf(t, sys, itemID)
		res := sys.Do(t.Context(), seller, http.MethodGet, "/myPages/"+itemID, nil)
		if !assert.NoError(c, res.Err) || !assert.Equal(c, http.StatusOK, res.Status, "%s", res) {
			return
		}
		row := res.JSON(c)
		assert.EqualValues(c, len(existing), row["openChats"], "MyPage openChats against %d reservations", len(existing))
		assert.Equal(c, "CREATED", row["itemStatus"])
	}, settle, tick, "MyPage of item %s never agreed with its reservations", itemID)
	for buyer, rsvID := range created {
		assert.Equal(t, rsvID, existing[buyer], "reservation of %s", buyer)
	}

	// Asking again answers the reservation that exists, or opens one.
	for i := range stormBuyers {
		buyer := buyerName(i)
		res := sys.MustDo(t, buyer, http.MethodPost, "/reservations", map[string]any{"itemId": itemID})
		if rsvID, ok := existing[buyer]; ok {
			if assert.Equal(t, http.StatusOK, res.Status, "%s asked again: %s", buyer, res) {
				assert.Equal(t, rsvID, res.JSON(t)["rsvId"], "%s asked again", buyer)
			}
		} else {
			assert.Equal(t, http.StatusCreated, res.Status, "%s asked again: %s", buyer, res)
		}
	}
	assert.Len(t, reservationsOf(t, sys, itemID), stormBuyers)
	sys.EventuallyPage(t, seller, itemID, map[string]any{"openChats": stormBuyers})
	sys.EventuallyQuiet(t)
	sys.EventuallyPage(t, seller, itemID, map[string]any{"openChats": stormBuyers})

	sys.MustStop(t)
}

// TestQueuedRequestsOutliveAKilledInstance kills request-chat's instance
// during a storm of chats, as above, and checks that no request fails for
// want of a connection to the dead process: a request that never reached
// it (still queued, or granted its slot after the kill) is the kind
// Knative's activator sends again, and infra/serving's doc says only the
// requests in flight on a discarded instance fail with 503.
func TestQueuedRequestsOutliveAKilledInstance(t *testing.T) {
	sys := MustStart(t, system.Options{})
	_, answers, killed := killDuringChats(t, sys)
	t.Logf("killed pid %d; answers: %v", killed, statusCounts(answers))
	for i, res := range answers {
		assert.NotContains(t, string(res.Body), "connection refused", "%s never reached the killed instance, yet failed", buyerName(i))
	}
	sys.MustStop(t)
}

// A chat storm: stormBuyers buyers ask stormFunction to chat about one
// item at once, and an instance serving them is killed.
const (
	stormFunction = "request-chat"
	stormBuyers   = 20
)

// killDuringChats registers an item of seller and runs a chat storm on it.
// The storm must meet a request in flight to kill; on a fast machine it
// may be over first, so it runs again on a new item until it does. It
// returns the item, each buyer's answer and the pid it killed.
func killDuringChats(t *testing.T, sys *System) (string, []system.Response, int) {
	t.Helper()
	for round := 1; ; round++ {
		require.LessOrEqual(t, round, 5, "no request of %s was ever seen in flight", stormFunction)
		itemID := sys.MustRegister(t, seller, fmt.Sprintf("console %d", round), 300000)
		if answers, killed := chatStorm(t, sys, itemID, round, stormBuyers, stormFunction); killed != 0 {
			return itemID, answers, killed
		}
	}
}

func buyerName(i int) string { return fmt.Sprintf("buyer-%02d", i) }

// chatStorm has n buyers ask to chat about itemID at once and SIGKILLs an
// instance of fn as soon as the runtime's status shows it serving one of
// their requests. It returns each buyer's answer and the pid it killed, 0
// when it saw no request in flight.
func chatStorm(t *testing.T, sys *System, itemID string, round, n int, fn string) ([]system.Response, int) {
	t.Helper()
	for i := range n {
		_, err := sys.Token(t.Context(), buyerName(i)) // only the chats are in the storm
		require.NoError(t, err)
	}
	// A request warms fn up, so that the storm finds an instance ready.
	res := sys.MustDo(t, buyerName(0), http.MethodGet, "/reservations/none", nil)
	require.Equal(t, http.StatusNotFound, res.Status, "%s", res)

	answers := make([]system.Response, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			res := sys.Do(t.Context(), buyerName(i), http.MethodPost, "/reservations", map[string]any{"itemId": itemID})
			if res.Err != nil {
				res = system.Response{Status: -1, Body: []byte(res.Err.Error())}
			}
			answers[i] = res
		})
	}
	stormDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(stormDone)
	}()
	close(start)
	killed := 0
	for killed == 0 {
		select {
		case <-stormDone:
			t.Logf("round %d: the storm ended before a request was seen in flight", round)
			return answers, 0
		default:
		}
		st, err := sys.Status(t.Context())
		require.NoError(t, err)
		for _, inst := range st.Function(fn).Instances {
			if inst.InFlight > 0 && inst.PID > 0 {
				require.NoError(t, system.Signal(inst.PID, syscall.SIGKILL))
				killed = inst.PID
				break
			}
		}
	}
	<-stormDone
	return answers, killed
}

// reservationsOf reads, from DynamoDB itself, the reservations of itemID
// that exist: buyer → rsvId. It is how the test learns about reservations
// whose command was committed but whose answer was lost with the instance.
func reservationsOf(t *testing.T, sys *System, itemID string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	expr, err := expression.NewBuilder().WithFilter(expression.Name("itemId").Equal(expression.Value(itemID))).Build()
	require.NoError(t, err)
	in := &dynamodb.ScanInput{
		TableName: aws.String(sys.Prefix + dynamo.TableReservations), ConsistentRead: aws.Bool(true),
		FilterExpression: expr.Filter(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	found := map[string]string{}
	pages := dynamodb.NewScanPaginator(sys.DynamoDB, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		require.NoError(t, err)
		var rows []struct {
			RsvID   string `dynamodbav:"rsvId"`
			BuyerID string `dynamodbav:"buyerId"`
		}
		require.NoError(t, attributevalue.UnmarshalListOfMaps(page.Items, &rows))
		for _, r := range rows {
			_, dup := found[r.BuyerID]
			assert.False(t, dup, "%s holds two reservations of item %s", r.BuyerID, itemID)
			found[r.BuyerID] = r.RsvID
		}
	}
	return found
}

// statusCounts counts answers by status, for the log.
func statusCounts(answers []system.Response) map[int]int {
	counts := map[int]int{}
	for _, res := range answers {
		counts[res.Status]++
	}
	return counts
}
