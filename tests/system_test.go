package tests

// The end-to-end tests start carrot the way `make run` does, through the
// harness of tests/system: the runtime binary, built once by TestMain, runs
// as a real OS process per test with its own ports, data folder and
// DynamoDB table prefix, so that tests run in parallel with each other and
// with other packages. This file holds the helpers they share, which fail
// the test.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
	"github.com/carrot-market/carrot/tests/system"
)

// Bounds of the waits. They are generous: under -race on two cores the
// first request to a function includes its cold start.
const (
	settle = 60 * time.Second // an effect travels through the broker
	tick   = 200 * time.Millisecond
)

// The people of the end-to-end tests. Every test starts a system with
// tables of its own, so they all use the same names.
const (
	seller    = "sally"
	buyer     = "bob"
	lateBuyer = "carol" // comes after the item is sold
)

var (
	// repoRoot is the repository, the runtime's first argument.
	repoRoot string
	// carrotBinary is the runtime TestMain built.
	carrotBinary string
)

// TestMain builds the runtime once, as `make run` does, for every test
// that starts a system.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", "carrot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	carrotBinary = filepath.Join(dir, "carrot")
	if err := system.Build(context.Background(), repoRoot, carrotBinary); err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	return m.Run()
}

// System is one running carrot with the helpers of the tests. Its methods
// that take no testing.TB are safe for concurrent use.
type System struct {
	*system.System
	DynamoDB *dynamodb.Client
}

// MustStart starts the runtime TestMain built with opts (its IdleGrace and
// MaxScale; the rest is chosen here) on fresh ports, data folder and
// tables, waits until it answers, and stops it and deletes its tables when
// the test ends. It skips the test when DynamoDB Local is not there,
// except under CI=true, where it fails. It marks the test parallel: each
// system has ports, a data folder and tables of its own, and a test that
// waits for one alone would hold the others up for minutes.
func MustStart(t *testing.T, opts system.Options) *System {
	t.Helper()
	t.Parallel()
	ddb := dynamotest.MustClient(t)
	opts.Binary, opts.Root = carrotBinary, repoRoot
	opts.DataDir, opts.Prefix = t.TempDir(), system.RandomPrefix("e2e")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dynamo.DeleteTables(ctx, ddb, opts.Prefix); err != nil {
			t.Errorf("delete tables %s*: %v", opts.Prefix, err)
		}
	})
	sys, err := system.Start(t.Context(), opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the runtime's last output:\n%s", sys.Tail(150))
		}
		sys.Close()
	})
	return &System{System: sys, DynamoDB: ddb}
}

// MustStop stops the system with SIGINT, as Ctrl-C after `make run`, and
// asserts that function instances ran, that the runtime exits cleanly and
// that it leaves no function process behind (see system.System.Stop).
func (s *System) MustStop(t *testing.T) {
	t.Helper()
	s.requireInstancesRan(t)
	require.NoError(t, s.Stop())
}

// MustRestart stops the system as MustStop does and starts it again on
// the same ports, data folder and tables.
func (s *System) MustRestart(t *testing.T) {
	t.Helper()
	s.requireInstancesRan(t)
	require.NoError(t, s.Restart(t.Context()))
}

// requireInstancesRan fails the test when no function instance ever ran,
// which would leave Stop's check of leftover processes without pids.
func (s *System) requireInstancesRan(t *testing.T) {
	t.Helper()
	_, _ = s.Status(t.Context()) // records the pids of the instances running now
	require.NotEmpty(t, s.SeenPIDs(), "no function instance ever ran")
}

// MustWarmUp lists a first item and waits until MyPage shows it and the
// triggers are at rest, so that register-item and mypage run an instance
// each (their cold starts done) and the broker has nothing in flight.
func (s *System) MustWarmUp(t *testing.T) {
	t.Helper()
	warm := s.MustRegister(t, seller, "warm-up", 1000)
	s.EventuallyPage(t, seller, warm, map[string]any{"itemStatus": "CREATED"})
	s.EventuallyQuiet(t)
}

// MustDo is Do that fails the test when no answer comes.
func (s *System) MustDo(t require.TestingT, user, method, path string, body any) system.Response {
	res := s.Do(context.Background(), user, method, path, body)
	require.NoError(t, res.Err, "%s %s", method, path)
	return res
}

// MustStatus is Status for the test goroutine.
func (s *System) MustStatus(t require.TestingT) system.Status {
	st, err := s.Status(context.Background())
	require.NoError(t, err)
	return st
}

// MustRegister lists an item of seller priced price and returns its id.
func (s *System) MustRegister(t require.TestingT, seller, name string, price int) string {
	res := s.MustDo(t, seller, http.MethodPost, "/items", map[string]any{"name": name, "category": "electronics", "price": price})
	require.Equal(t, http.StatusCreated, res.Status, "POST /items: %s", res)
	return res.JSON(t)["itemId"].(string)
}

// MustChat opens buyer's chat on itemID and returns the reservation's id.
func (s *System) MustChat(t require.TestingT, buyer, itemID string) string {
	res := s.MustDo(t, buyer, http.MethodPost, "/reservations", map[string]any{"itemId": itemID})
	require.Equal(t, http.StatusCreated, res.Status, "chat: %s", res)
	return res.JSON(t)["rsvId"].(string)
}

// MustConfirm has seller confirm rsvID, meeting on date (YYYY-MM-DD) at
// clock (HH:MM) at place.
func (s *System) MustConfirm(t require.TestingT, seller, rsvID, date, clock, place string) {
	res := s.MustDo(t, seller, http.MethodPatch, "/reservations/"+rsvID,
		map[string]any{"rsvStatus": "CONFIRMED", "rsvDate": date, "rsvTime": clock, "rsvPlace": place})
	require.Equal(t, http.StatusOK, res.Status, "confirm: %s", res)
}

// MustPay has buyer pay rsvID and returns the payment's id.
func (s *System) MustPay(t require.TestingT, buyer, rsvID string) string {
	res := s.MustDo(t, buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
	require.Equal(t, http.StatusCreated, res.Status, "pay: %s", res)
	return res.JSON(t)["payId"].(string)
}

// MustGetItem reads itemID as anyone sees it and requires 200.
func (s *System) MustGetItem(t require.TestingT, itemID string) map[string]any {
	res := s.MustDo(t, "", http.MethodGet, "/items/"+itemID, nil)
	require.Equal(t, http.StatusOK, res.Status, "GET /items/%s: %s", itemID, res)
	return res.JSON(t)
}

// EventuallyItemStatus waits until GET /items/{itemId} shows status, which
// the item reaches by an event.
func (s *System) EventuallyItemStatus(t *testing.T, itemID, status string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res := s.Do(t.Context(), "", http.MethodGet, "/items/"+itemID, nil)
		if assert.NoError(c, res.Err) && assert.Equal(c, http.StatusOK, res.Status) {
			assert.Equal(c, status, res.JSON(c)["status"])
		}
	}, settle, tick, "item %s never turned %s", itemID, status)
}

// EventuallyPage waits until user's GET /myPages/{itemId} shows every
// field of want (numbers compare by value), and returns the row.
func (s *System) EventuallyPage(t *testing.T, user, itemID string, want map[string]any) map[string]any {
	t.Helper()
	var row map[string]any
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res := s.Do(t.Context(), user, http.MethodGet, "/myPages/"+itemID, nil)
		if !assert.NoError(c, res.Err) || !assert.Equal(c, http.StatusOK, res.Status, "%s", res) {
			return
		}
		row = res.JSON(c)
		for field, value := range want {
			assert.EqualValues(c, value, row[field], "MyPage %s of item %s", field, itemID)
		}
	}, settle, tick, "MyPage of item %s never showed %v", itemID, want)
	return row
}

// EventuallyQuiet waits until every trigger has caught up with the broker
// topic (lag 0) and its counts stopped changing for several seconds, and
// returns that status. Events that kept bouncing between functions would
// keep the counts growing, and the wait would fail.
func (s *System) EventuallyQuiet(t *testing.T) system.Status {
	t.Helper()
	const stableFor = 3 * time.Second
	var last system.Status
	var since time.Time
	require.Eventually(t, func() bool {
		st, err := s.Status(t.Context())
		if err != nil {
			return false
		}
		caughtUp := st.CaughtUp()
		if !caughtUp || !st.SameTriggerCounts(last) {
			since = time.Now()
		}
		last = st
		return caughtUp && time.Since(since) >= stableFor
	}, settle, 500*time.Millisecond, "the triggers never came to rest: %+v", last.Triggers)
	return last
}

// Topic names of the running system, as knative/eventing names them.
const (
	brokerTopic     = "knative-broker-default-carrot"
	deadLetterTopic = "carrot-dead-letters"
)

// Events reads topic from its start to its end as of now, from the
// system's Kafka, and decodes every record as a structured CloudEvent (the
// layout of the broker topic and of the dead-letter KafkaSink).
func (s *System) Events(t *testing.T, topic string) []cloudevents.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(s.Kafka))
	require.NoError(t, err)
	ends, err := kadm.NewClient(admin).ListEndOffsets(ctx, topic)
	admin.Close()
	require.NoError(t, err)
	require.NoError(t, ends.Error(), "end offsets of %s", topic)
	remaining := map[int32]int64{} // partition → end offset not reached yet
	partitions := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			remaining[o.Partition] = o.Offset
			partitions[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(remaining) == 0 {
		return nil
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(s.Kafka), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: partitions}))
	require.NoError(t, err)
	defer consumer.Close()
	var out []cloudevents.Event
	for len(remaining) > 0 {
		fetches := consumer.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "reading %s: %d partitions not read to their end", topic, len(remaining))
		fetches.EachError(func(_ string, p int32, err error) { require.NoError(t, err, "reading %s[%d]", topic, p) })
		fetches.EachRecord(func(r *kgo.Record) {
			if end, ok := remaining[r.Partition]; !ok || r.Offset >= end {
				return
			}
			var e cloudevents.Event
			require.NoError(t, json.Unmarshal(r.Value, &e), "record %s[%d]@%d: %s", topic, r.Partition, r.Offset, r.Value)
			out = append(out, e)
			if r.Offset+1 >= remaining[r.Partition] {
				delete(remaining, r.Partition)
			}
		})
	}
	return out
}
