package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/carrot-market/carrot/events"
)

// testEvent returns a valid event with id and item.
func testEvent(t *testing.T, id, item string) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(string(events.ItemReserved))
	e.SetSource("/carrot/confirm-reservation")
	e.SetSubject(item)
	e.SetTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	e.SetExtension(events.PartitionKeyExtension, item)
	require.NoError(t, e.SetData(cloudevents.ApplicationJSON, map[string]string{"itemId": item}))
	return e
}

func testEvents(t *testing.T, n int) []cloudevents.Event {
	var evs []cloudevents.Event
	for i := range n {
		evs = append(evs, testEvent(t, fmt.Sprintf("e%d", i), "item-1"))
	}
	return evs
}

// MustPublisher returns a publisher of o to s with short timeouts and no
// background drain, so that each test decides when the sink is tried; the
// drain's tests turn it on with drainFast.
func MustPublisher(t *testing.T, o Outbox, sinkURL string, tweak ...func(*Config)) *Publisher {
	t.Helper()
	cfg := Config{Sink: sinkURL, SendTimeout: time.Second, Log: zap.NewNop().Sugar(), DrainFor: -1}
	for _, f := range tweak {
		f(&cfg)
	}
	p, err := New(o, cfg)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// drainFast turns the background drain on with backoffs of milliseconds.
func drainFast(c *Config) {
	c.DrainFor = time.Minute
	c.DrainBackoff = 5 * time.Millisecond
	c.DrainMaxBackoff = 20 * time.Millisecond
}

// commit puts evs in the outbox and publishes them, as app.Service does.
func commit(p *Publisher, o *memoryOutbox, evs ...cloudevents.Event) {
	o.add(evs...)
	p.Publish(context.Background(), evs)
}

func TestPublishSendsInOrderAndDeletes(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	p := MustPublisher(t, o, s.URL)
	evs := testEvents(t, 3)
	evs[1].SetExtension(events.PartitionKeyExtension, "item-2")

	commit(p, o, evs...)

	assert.Equal(t, []string{"e0", "e1", "e2"}, s.ids())
	require.NoError(t, p.Flush(context.Background()))
	assert.Empty(t, o.pending())
	second := s.headers()[1]
	assert.Equal(t, "e1", second.Get("Ce-Id"))
	assert.Equal(t, string(events.ItemReserved), second.Get("Ce-Type"))
	assert.Equal(t, "/carrot/confirm-reservation", second.Get("Ce-Source"))
	assert.Equal(t, "item-2", second.Get("Ce-Partitionkey"))
	assert.Equal(t, "1.0", second.Get("Ce-Specversion"))
	assert.Equal(t, cloudevents.ApplicationJSON, second.Get("Content-Type"), "binary mode carries the data's own type")
}

func TestPublishKeepsTheTraceparentExtension(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	p := MustPublisher(t, o, s.URL)
	e := testEvent(t, "e0", "item-1")
	e.SetExtension(events.TraceparentExtension, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	commit(p, o, e)
	require.Len(t, s.headers(), 1)
	assert.Equal(t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", s.headers()[0].Get("Ce-Traceparent"))
}

func TestPublishLeavesEventsWhenTheSinkFails(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusInternalServerError,
		http.StatusNotFound, http.StatusTooManyRequests, http.StatusBadRequest} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			s, o := newSink(t), &memoryOutbox{}
			s.answer(status)
			p := MustPublisher(t, o, s.URL)

			commit(p, o, testEvents(t, 3)...)

			assert.Equal(t, []string{"e0"}, s.tried(), "the first failure stops the call")
			assert.Equal(t, []string{"e0", "e1", "e2"}, o.pending())
		})
	}
}

func TestPublishStopsMidwayAndKeepsTheRest(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	s.answer(http.StatusOK, http.StatusBadGateway, http.StatusOK)
	p := MustPublisher(t, o, s.URL)

	commit(p, o, testEvents(t, 3)...)

	assert.Equal(t, []string{"e0", "e1"}, s.tried(), "e2 is never tried after e1 failed")
	require.NoError(t, p.Flush(context.Background()))
	assert.Equal(t, []string{"e1", "e2"}, o.pending(), "only the acknowledged e0 is deleted")
}

func TestPublishDoesNotWaitForTheDelete(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{hold: make(chan struct{})}
	p := MustPublisher(t, o, s.URL)

	commit(p, o, testEvent(t, "a", "item-1")) // returns while MarkSent is held
	assert.Equal(t, []string{"a"}, s.ids())
	assert.Equal(t, []string{"a"}, o.pending(), "the delete is still held")

	close(o.hold)
	require.NoError(t, p.Flush(context.Background()))
	assert.Empty(t, o.pending())
}

func TestConcurrentPublishesShareDeletes(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{hold: make(chan struct{})}
	p := MustPublisher(t, o, s.URL)

	// The first delete is held, so every later publish queues behind it.
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { commit(p, o, testEvent(t, fmt.Sprintf("e%d", i), fmt.Sprintf("item-%d", i))) })
	}
	wg.Wait()
	close(o.hold)
	require.NoError(t, p.Flush(context.Background()))

	assert.Empty(t, o.pending(), "every sent event's row is deleted")
	calls := o.markCalls()
	var deleted []string
	for _, ids := range calls {
		deleted = append(deleted, ids...)
	}
	assert.ElementsMatch(t, s.ids(), deleted, "each sent event deleted once")
	assert.Less(t, len(calls), n/2, "queued rows are deleted together: %v", calls)
}

func TestRelaySendsNothingPublishAlreadySent(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{hold: make(chan struct{})}
	p := MustPublisher(t, o, s.URL)

	commit(p, o, testEvent(t, "a", "item-1"))
	go func() { time.Sleep(20 * time.Millisecond); close(o.hold) }()
	n, err := p.Relay(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "the relay waited for the delete instead of sending a again")
	assert.Equal(t, []string{"a"}, s.ids())
}

func TestRelayAfterRecoverySendsTheRestOnce(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	p := MustPublisher(t, o, s.URL)

	s.answer(http.StatusServiceUnavailable)
	commit(p, o, testEvent(t, "a", "item-1"), testEvent(t, "b", "item-2"))
	commit(p, o, testEvent(t, "c", "item-1"))
	assert.Equal(t, []string{"a", "b", "c"}, o.pending())

	n, err := p.Relay(context.Background())
	require.Error(t, err, "the sink is still down")
	assert.Zero(t, n)

	s.answer(http.StatusAccepted)
	n, err = p.Relay(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, []string{"a", "b", "c"}, s.ids(), "each event once, in commit order")
	assert.Empty(t, o.pending())

	n, err = p.Relay(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Len(t, s.ids(), 3, "nothing is sent twice")
}

func TestPublishWhileBehindDoesNotOvertake(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := MustPublisher(t, o, s.URL, func(c *Config) { c.RetryBackoff = 10 * time.Second })
	p.now = func() time.Time { return now }

	s.answer(http.StatusServiceUnavailable)
	commit(p, o, testEvent(t, "old", "item-1"))
	require.Equal(t, []string{"old"}, s.tried())

	s.answer(http.StatusAccepted)
	commit(p, o, testEvent(t, "new", "item-1"))
	assert.Equal(t, []string{"old"}, s.tried(), "within the backoff nothing is tried, so a command stays fast")
	assert.Equal(t, []string{"old", "new"}, o.pending())

	now = now.Add(11 * time.Second)
	commit(p, o, testEvent(t, "newer", "item-1"))
	assert.Equal(t, []string{"old", "new", "newer"}, s.ids(), "the relay sends the oldest first")
	assert.Empty(t, o.pending())

	commit(p, o, testEvent(t, "direct", "item-1"))
	assert.Equal(t, []string{"old", "new", "newer", "direct"}, s.ids(), "caught up, it sends directly again")
}

func TestRelayReadsInBatches(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	p := MustPublisher(t, o, s.URL, func(c *Config) { c.BatchSize = 2 })
	o.add(testEvents(t, 5)...)

	n, err := p.Relay(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	assert.Equal(t, []string{"e0", "e1", "e2", "e3", "e4"}, s.ids())
	assert.Equal(t, []int{2, 2, 2}, o.limits)
}

func TestRelayReportsMarkFailures(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{markErr: errors.New("dynamo down")}
	p := MustPublisher(t, o, s.URL)
	o.add(testEvents(t, 2)...)

	n, err := p.Relay(context.Background())
	assert.ErrorContains(t, err, "dynamo down")
	assert.Equal(t, 2, n)
	assert.Equal(t, []string{"e0", "e1"}, o.pending(), "they will be sent again: at least once")
}

func TestRelayStopsWhenTheOutboxForgetsNothing(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{forgetless: true}
	p := MustPublisher(t, o, s.URL, func(c *Config) { c.BatchSize = 2 })
	o.add(testEvents(t, 2)...)

	_, err := p.Relay(context.Background())
	assert.ErrorContains(t, err, "still pending")
	assert.Len(t, s.ids(), 2)
}

func TestSendTimesOut(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	s.hangUp()
	p := MustPublisher(t, o, s.URL, func(c *Config) { c.SendTimeout = 50 * time.Millisecond })

	start := time.Now()
	commit(p, o, testEvents(t, 2)...)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, []string{"e0", "e1"}, o.pending())
}

func TestPublishOutlivesTheCallersContext(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	p := MustPublisher(t, o, s.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	evs := testEvents(t, 1)
	o.add(evs...)
	p.Publish(ctx, evs)
	assert.Equal(t, []string{"e0"}, s.ids())
}

func TestWithoutSinkEventsStayAndOneLineIsLogged(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	o := &memoryOutbox{}
	p := MustPublisher(t, o, "", func(c *Config) { c.Log = zap.New(core).Sugar() })

	commit(p, o, testEvent(t, "a", "item-1"))
	commit(p, o, testEvent(t, "b", "item-1"))

	assert.Equal(t, []string{"a", "b"}, o.pending())
	assert.Equal(t, 1, logs.Len())
	_, err := p.Relay(context.Background())
	assert.ErrorIs(t, err, ErrNoSink)
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, sink := range []string{"broker", "ftp://broker", "http://", "://x"} {
		_, err := New(&memoryOutbox{}, Config{Sink: sink})
		assert.Error(t, err, sink)
	}
	_, err := New(nil, Config{})
	assert.Error(t, err)
	_, err = New(&memoryOutbox{}, Config{BatchSize: -1})
	assert.Error(t, err)
	_, err = New(&memoryOutbox{}, Config{Sink: "http://broker-ingress.knative-eventing.svc.cluster.local/carrot/default"})
	assert.NoError(t, err)
}

func TestFromEnv(t *testing.T) {
	s := newSink(t)
	t.Setenv(SinkEnv, s.URL)
	o := &memoryOutbox{}
	p, err := FromEnv(o, zap.NewNop().Sugar())
	require.NoError(t, err)
	commit(p, o, testEvents(t, 1)...)
	assert.Equal(t, []string{"e0"}, s.ids())
}

func TestDrainSendsTheOutboxOnceTheSinkIsBack(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	// A long RetryBackoff: no Publish call retries, only the drain does.
	p := MustPublisher(t, o, s.URL, drainFast, func(c *Config) { c.RetryBackoff = time.Hour })

	s.answer(http.StatusServiceUnavailable)
	commit(p, o, testEvent(t, "a", "item-1"), testEvent(t, "b", "item-2"))
	commit(p, o, testEvent(t, "c", "item-1"))
	require.Eventually(t, func() bool { return len(s.tried()) >= 4 }, 5*time.Second, 5*time.Millisecond,
		"the drain probes the sink while it is down")
	assert.Equal(t, []string{"a", "b", "c"}, o.pending())
	for _, id := range s.tried()[1:] {
		assert.Equal(t, "a", id, "only the event that failed probes the sink")
	}

	s.answer(http.StatusAccepted)
	require.Eventually(t, func() bool { return len(o.pending()) == 0 }, 5*time.Second, 5*time.Millisecond,
		"the outbox drains once the sink is back, with no command and no relay tick")
	assert.Equal(t, []string{"a", "b", "c"}, s.ids(), "each event once, in commit order")

	commit(p, o, testEvent(t, "d", "item-1"))
	assert.Equal(t, []string{"a", "b", "c", "d"}, s.ids(), "caught up, it sends directly again")
}

func TestDrainGivesUpAfterDrainFor(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	p := MustPublisher(t, o, s.URL, drainFast, func(c *Config) { c.DrainFor = 100 * time.Millisecond })

	s.answer(http.StatusServiceUnavailable)
	commit(p, o, testEvents(t, 2)...)
	time.Sleep(300 * time.Millisecond)
	tried := len(s.tried())
	assert.Greater(t, tried, 1, "the drain tried")
	time.Sleep(100 * time.Millisecond)
	assert.Len(t, s.tried(), tried, "the drain is over; the relay takes the rest")
	assert.Equal(t, []string{"e0", "e1"}, o.pending())

	s.answer(http.StatusAccepted)
	n, err := p.Relay(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

func TestCloseStopsTheDrain(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	p := MustPublisher(t, o, s.URL, drainFast)

	s.answer(http.StatusServiceUnavailable)
	commit(p, o, testEvents(t, 1)...)
	require.Eventually(t, func() bool { return len(s.tried()) >= 2 }, 5*time.Second, 5*time.Millisecond)
	p.Close()
	tried := len(s.tried())
	s.answer(http.StatusAccepted)
	time.Sleep(100 * time.Millisecond)
	assert.Len(t, s.tried(), tried, "nothing is sent after Close")
	assert.Equal(t, []string{"e0"}, o.pending(), "the event waits for the relay")
}

func TestDrainAfterAFailedRelay(t *testing.T) {
	t.Parallel()
	s, o := newSink(t), &memoryOutbox{}
	p := MustPublisher(t, o, s.URL, drainFast)
	o.add(testEvents(t, 3)...)

	s.answer(http.StatusBadGateway)
	_, err := p.Relay(context.Background())
	require.Error(t, err)

	s.answer(http.StatusAccepted)
	require.Eventually(t, func() bool { return len(o.pending()) == 0 }, 5*time.Second, 5*time.Millisecond,
		"a relay that failed leaves the drain to finish its work")
	assert.Equal(t, []string{"e0", "e1", "e2"}, s.ids())
}
