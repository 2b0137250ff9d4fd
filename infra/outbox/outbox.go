// Package outbox sends committed events to the broker. A command writes its
// state and its events in one transaction (the outbox); the Publisher then
// sends those events to the sink Knative injects ($K_SINK) and, once the
// sink acknowledged them, deletes their rows in the background, many
// commands' rows in one call. What it cannot send stays in
// the outbox: the publisher drains it in the background as soon as the
// sink answers again (within DrainMaxBackoff of the broker's return), and
// Relay, which a PingSource triggers, is the safety net for what a
// stopped process left behind. So a command that answered 2xx never loses
// an event, even across a broker outage; delivery is at least once, and
// consumers deduplicate.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cecontext "github.com/cloudevents/sdk-go/v2/context"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"go.uber.org/zap"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
)

// Outbox is the store of committed events not yet sent; the DynamoDB
// adapter implements it. Implementations must be safe for concurrent use.
type Outbox interface {
	// PendingEvents returns up to limit unsent events, oldest commit first
	// and in publishing order within a commit.
	PendingEvents(ctx context.Context, limit int) ([]cloudevents.Event, error)
	// MarkSent deletes the events with these ids (cloudevents.Event.ID);
	// unknown ids are ignored.
	MarkSent(ctx context.Context, ids ...string) error
}

// SinkEnv names the variable a Knative SinkBinding sets to the broker URL.
const SinkEnv = "K_SINK"

// ErrNoSink says the publisher has no sink to send to.
var ErrNoSink = errors.New("outbox: no sink configured ($K_SINK is empty); events stay in the outbox")

// Config configures a Publisher. Zero fields take the defaults below.
type Config struct {
	// Sink is the broker URL, usually $K_SINK. Empty keeps every event in
	// the outbox, which suits tests that run without a broker.
	Sink string
	// SendTimeout bounds the delivery of one event. Default 5 s.
	SendTimeout time.Duration
	// BatchSize is how many pending events Relay reads at once. Default 100.
	BatchSize int
	// RetryBackoff is how long Publish leaves events to the outbox after a
	// failed send before it tries the sink again. Default 5 s.
	RetryBackoff time.Duration
	// DrainBackoff is the first wait of the background drain that starts
	// after a failed send; it doubles up to DrainMaxBackoff. Defaults
	// 250 ms and 2 s: the outbox goes out within about 2 s of the sink's
	// return, for one probe request every 2 s while it is away.
	DrainBackoff, DrainMaxBackoff time.Duration
	// DrainFor bounds one background drain; what is left after it waits
	// for the relay. Default 10 minutes. A negative value turns the drain
	// off, leaving everything to Relay and later Publish calls.
	DrainFor time.Duration
	// HTTPClient sends the events. Default: a client with the default
	// transport and no overall timeout (SendTimeout applies per event).
	HTTPClient *http.Client
	// Log receives failures. Default: the CloudEvents SDK's fallback logger.
	Log *zap.SugaredLogger
}

func (c *Config) setDefaults() {
	if c.SendTimeout == 0 {
		c.SendTimeout = 5 * time.Second
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = 5 * time.Second
	}
	if c.DrainBackoff == 0 {
		c.DrainBackoff = 250 * time.Millisecond
	}
	if c.DrainMaxBackoff == 0 {
		c.DrainMaxBackoff = 2 * time.Second
	}
	if c.DrainFor == 0 {
		c.DrainFor = 10 * time.Minute
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Log == nil {
		c.Log = cecontext.LoggerFrom(context.Background())
	}
}

// Validate reports a configuration that can never work.
func (c Config) Validate() error {
	if c.Sink != "" {
		u, err := url.Parse(c.Sink)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("outbox: sink %q is not an http(s) URL", c.Sink)
		}
	}
	if c.SendTimeout < 0 || c.BatchSize < 0 || c.RetryBackoff < 0 || c.DrainBackoff < 0 || c.DrainMaxBackoff < 0 {
		return errors.New("outbox: timeouts, backoffs and batch size must not be negative")
	}
	return nil
}

// Publisher implements app.Publisher on an Outbox and is the relay. It is
// safe for concurrent use.
//
// Ordering: each call sends its events in the given order and stops at the
// first failure, so no event overtakes an earlier one of the same call.
// After a failure the publisher is "behind": later Publish calls of this
// process do not send their own events directly (they could overtake the
// stuck ones) but relay one batch of the outbox, oldest first, and they
// try at most once per RetryBackoff, so a broker outage does not slow every
// command down. Relay clears the state once the outbox is empty.
// Concurrent commands, and different processes, can still publish out of
// commit order; consumers must rely on versions, not on arrival order
// across commits.
//
// Draining: the first failure also starts one background drain per
// process. It waits DrainBackoff, doubling up to DrainMaxBackoff, and
// probes the sink with the event that failed (it must be sent anyway);
// once the sink takes it, it relays the whole outbox, oldest first, and
// stops. So after a broker outage the outbox empties within seconds of the
// broker's return, not at the next relay tick, and a quiet function's
// events do not wait for a command to come by. The drain gives up after
// DrainFor (the relay takes over) and ends with Close. It sends nothing
// the relay would not: at least once, as ever.
//
// Pitfall: an event the sink rejects for good (a 4xx it will never accept)
// stops the relay at that event until an operator removes its outbox row;
// it is logged at error level with its id.
type Publisher struct {
	outbox Outbox
	cfg    Config
	client cloudevents.Client // nil without a sink
	now    func() time.Time

	noSink sync.Once

	mu      sync.Mutex // guards behind and retryAt
	behind  bool
	retryAt time.Time

	relayMu sync.Mutex // one relay at a time per process

	// The background drain: at most one runs; Close cancels it.
	drainMu    sync.Mutex // guards draining, probe and closed
	draining   bool
	probe      *cloudevents.Event // the event whose send failed, if known
	closed     bool
	drainCtx   context.Context
	stopDrain  context.CancelFunc
	drainsDone sync.WaitGroup

	// Sent events whose rows are still to be deleted. One sweeper at a
	// time takes every queued id and deletes them in as few calls as the
	// outbox allows; ids queued meanwhile wait for its next round, so under
	// load many commands share one delete.
	sweepMu  sync.Mutex // guards sent and sweeping
	sent     []string
	sweeping bool
	deleting sync.Mutex // held while ids taken from sent are being deleted
}

var _ app.Publisher = (*Publisher)(nil)

// New returns a Publisher sending the events of o to cfg.Sink. It fails on
// a configuration that can never work, at wiring time.
func New(o Outbox, cfg Config) (*Publisher, error) {
	if o == nil {
		return nil, errors.New("outbox: no Outbox given")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Publisher{outbox: o, cfg: cfg, now: time.Now}
	p.drainCtx, p.stopDrain = context.WithCancel(context.Background())
	if cfg.Sink == "" {
		return p, nil
	}
	client := *cfg.HTTPClient
	client.Transport = tracedTransport(client.Transport)
	proto, err := cehttp.New(cehttp.WithTarget(cfg.Sink), cehttp.WithClient(client))
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if p.client, err = cloudevents.NewClient(proto); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return p, nil
}

// FromEnv returns New with the sink in $K_SINK and default settings.
func FromEnv(o Outbox, log *zap.SugaredLogger) (*Publisher, error) {
	return New(o, Config{Sink: os.Getenv(SinkEnv), Log: log})
}

// Publish sends evs, which the caller has just committed to the outbox,
// and queues the rows of those the sink acknowledged with a 2xx for
// deletion in the background (Flush waits for it). It never fails:
// whatever it cannot send stays in the outbox for Relay, and the failure
// is logged. It outlives ctx's cancellation (a client hanging up must not
// cut the send short) but keeps its values, such as the traceparent.
//
// A row whose deletion is lost (a crash, DynamoDB failing) is sent again
// by Relay: delivery is at least once either way, and no command waits for
// a delete.
func (p *Publisher) Publish(ctx context.Context, evs []cloudevents.Event) {
	if len(evs) == 0 {
		return
	}
	log := p.cfg.Log
	if p.client == nil {
		p.noSink.Do(func() { log.Warnw("no sink configured; events stay in the outbox", "env", SinkEnv) })
		return
	}
	ctx = context.WithoutCancel(ctx)

	if behind, due := p.state(); behind {
		if !due {
			return // the sink failed recently; the relay or a later call sends these
		}
		// One batch at most: after a long outage the backlog belongs to
		// the relay, not to the request that happens to be due.
		if _, err := p.relay(ctx, 1); err != nil {
			log.Warnw("events stay in the outbox", "error", err)
		}
		return
	}
	sent, err := p.deliver(ctx, evs)
	countSends(ctx, "publish", len(sent), err != nil)
	p.forget(sent)
	if err != nil {
		p.fellBehind(&evs[len(sent)])
		log.Warnw("events stay in the outbox for the relay", "error", err, "sent", len(sent), "pending", len(evs)-len(sent))
	}
}

// sweepTimeout bounds one background delete of sent rows.
const sweepTimeout = 10 * time.Second

// forget queues the rows of sent events for deletion and starts the
// sweeper unless it is running.
func (p *Publisher) forget(ids []string) {
	if len(ids) == 0 {
		return
	}
	p.sweepMu.Lock()
	p.sent = append(p.sent, ids...)
	start := !p.sweeping
	p.sweeping = true
	p.sweepMu.Unlock()
	if start {
		go p.sweep()
	}
}

// sweep deletes queued rows until none is left. A failed delete is only
// logged: those events are sent again by Relay.
func (p *Publisher) sweep() {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
		n, err := p.deleteQueued(ctx, func() { p.sweeping = false })
		cancel()
		if err != nil {
			p.cfg.Log.Warnw("sent events keep their outbox rows; the relay will send them again", "events", n, "error", err)
		}
		if n == 0 {
			return
		}
	}
}

// deleteQueued deletes every queued row in one MarkSent and returns how
// many it took. When the queue is empty it runs whenEmpty under sweepMu
// and returns 0.
func (p *Publisher) deleteQueued(ctx context.Context, whenEmpty func()) (int, error) {
	p.deleting.Lock()
	defer p.deleting.Unlock()
	p.sweepMu.Lock()
	ids := p.sent
	p.sent = nil
	if len(ids) == 0 {
		whenEmpty()
	}
	p.sweepMu.Unlock()
	return len(ids), p.markSent(ctx, ids)
}

// Flush waits for the deletes in progress and deletes the rows still
// queued, so that PendingEvents no longer returns events this publisher
// sent. Relay calls it first; a function calls it before it exits.
func (p *Publisher) Flush(ctx context.Context) error {
	_, err := p.deleteQueued(ctx, func() {})
	return err
}

// Relay sends every pending event, oldest first, in batches of BatchSize,
// and deletes each batch's sent events from the outbox. It stops at the
// first failure, leaving that event and all later ones pending, and
// returns how many events it sent. It is the entry point a PingSource
// triggers; it also clears the publisher's "behind" state once the outbox
// is empty. Relays of one process run one at a time; relays of different
// processes may send an event twice, which at-least-once consumers accept.
// Sends are counted in carrot.outbox.sends, and what the relay left in
// carrot.outbox.backlog.
func (p *Publisher) Relay(ctx context.Context) (int, error) {
	return p.relay(ctx, 0)
}

// relay is Relay reading at most maxBatches batches (0: no limit).
func (p *Publisher) relay(ctx context.Context, maxBatches int) (int, error) {
	if p.client == nil {
		return 0, ErrNoSink
	}
	p.relayMu.Lock()
	defer p.relayMu.Unlock()
	// Events sent by Publish but not yet deleted would be sent twice.
	if err := p.Flush(ctx); err != nil {
		p.cfg.Log.Warnw("sent events are still in the outbox and will be sent again", "error", err)
	}

	total := 0
	sentBefore := map[string]bool{}
	for batch := 1; ; batch++ {
		evs, err := p.outbox.PendingEvents(ctx, p.cfg.BatchSize)
		if err != nil {
			p.fellBehind(nil)
			return total, fmt.Errorf("outbox: reading pending events: %w", err)
		}
		for _, e := range evs {
			if sentBefore[e.ID()] {
				// MarkSent did not take: sending again would loop forever.
				return total, fmt.Errorf("outbox: event %s is still pending after it was sent and marked", e.ID())
			}
		}
		sent, err := p.deliver(ctx, evs)
		countSends(ctx, "relay", len(sent), err != nil)
		total += len(sent)
		if merr := p.markSent(ctx, sent); merr != nil {
			err = errors.Join(err, merr)
		}
		if err != nil {
			var failed *cloudevents.Event
			if len(sent) < len(evs) {
				failed = &evs[len(sent)]
			}
			p.fellBehind(failed)
			backlog.Record(context.WithoutCancel(ctx), int64(len(evs)-len(sent)))
			return total, err
		}
		for _, id := range sent {
			sentBefore[id] = true
		}
		if len(evs) < p.cfg.BatchSize {
			p.caughtUp()
			backlog.Record(context.WithoutCancel(ctx), 0)
			return total, nil
		}
		if batch == maxBatches {
			return total, nil
		}
	}
}

// deliver sends evs in order and returns the ids the sink acknowledged,
// stopping at the first failure.
func (p *Publisher) deliver(ctx context.Context, evs []cloudevents.Event) ([]string, error) {
	sent := make([]string, 0, len(evs))
	for _, e := range evs {
		if err := p.send(ctx, e); err != nil {
			return sent, err
		}
		sent = append(sent, e.ID())
	}
	return sent, nil
}

// send delivers one event in binary mode within SendTimeout, in a producer
// span (startSendSpan). Only a 2xx answer counts as delivered.
func (p *Publisher) send(ctx context.Context, e cloudevents.Event) error {
	ctx, span := startSendSpan(ctx, e, p.cfg.Sink)
	err := p.sendOnce(ctx, e)
	endSendSpan(span, err)
	return err
}

func (p *Publisher) sendOnce(ctx context.Context, e cloudevents.Event) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.SendTimeout)
	defer cancel()
	res := p.client.Send(cloudevents.WithEncodingBinary(ctx), e)
	if res == nil {
		return nil
	}
	var answer *cehttp.Result
	if errors.As(res, &answer) {
		if answer.StatusCode >= 200 && answer.StatusCode < 300 {
			return nil
		}
		if permanent(answer.StatusCode) {
			p.cfg.Log.Errorw("the sink rejects an event for good; it blocks the outbox until removed",
				"ce-id", e.ID(), "ce-type", e.Type(), "partitionkey", partitionKey(e), "status", answer.StatusCode)
		}
		return fmt.Errorf("outbox: the sink answered %d to event %s", answer.StatusCode, e.ID())
	}
	return fmt.Errorf("outbox: sending event %s: %w", e.ID(), res)
}

// permanent reports a status the Knative retry contract does not retry.
func permanent(status int) bool {
	switch status {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return false
	}
	return status >= 400 && status < 500
}

func (p *Publisher) markSent(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := p.outbox.MarkSent(ctx, ids...); err != nil {
		return fmt.Errorf("outbox: marking %d sent events (they will be sent again): %w", len(ids), err)
	}
	return nil
}

// state reports whether the publisher is behind and, if so, whether it is
// time to try the sink again; a due caller takes the attempt.
func (p *Publisher) state() (behind, due bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.behind {
		return false, false
	}
	now := p.now()
	if now.Before(p.retryAt) {
		return true, false
	}
	p.retryAt = now.Add(p.cfg.RetryBackoff)
	return true, true
}

// fellBehind records a failed send, of failed when it is known, and
// starts the background drain unless one runs.
func (p *Publisher) fellBehind(failed *cloudevents.Event) {
	p.mu.Lock()
	if !p.behind {
		p.behind = true
		p.retryAt = p.now().Add(p.cfg.RetryBackoff)
	}
	p.mu.Unlock()
	p.startDrain(failed)
}

// isBehind reports the state without taking a retry attempt.
func (p *Publisher) isBehind() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.behind
}

// startDrain starts the background drain, or hands a running one a probe
// when it has none.
func (p *Publisher) startDrain(failed *cloudevents.Event) {
	if p.cfg.DrainFor < 0 {
		return
	}
	p.drainMu.Lock()
	defer p.drainMu.Unlock()
	if p.closed {
		return
	}
	if p.probe == nil && failed != nil {
		probe := failed.Clone()
		p.probe = &probe
	}
	if p.draining {
		return
	}
	p.draining = true
	p.drainsDone.Add(1)
	go p.drain()
}

// takeProbe returns the event to probe the sink with, nil when none is
// known (the outbox could not be read): the drain then relays at once.
func (p *Publisher) takeProbe() *cloudevents.Event {
	p.drainMu.Lock()
	defer p.drainMu.Unlock()
	probe := p.probe
	p.probe = nil
	return probe
}

// putProbeBack keeps a probe that failed for the next round, unless a
// newer failure left one already.
func (p *Publisher) putProbeBack(probe *cloudevents.Event) {
	p.drainMu.Lock()
	defer p.drainMu.Unlock()
	if p.probe == nil {
		p.probe = probe
	}
}

// drain probes the sink with a growing backoff until it takes an event,
// then relays the outbox; it ends once the publisher caught up, after
// DrainFor, or on Close.
func (p *Publisher) drain() {
	defer p.drainsDone.Done()
	ctx, cancel := context.WithTimeout(p.drainCtx, p.cfg.DrainFor)
	defer cancel()
	log := p.cfg.Log
	wait := p.cfg.DrainBackoff
	for tries := 1; ; tries++ {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			p.endDrain(true)
			if p.isBehind() {
				log.Warnw("the outbox drain gave up; the relay sends the rest", "tries", tries-1, "error", ctx.Err())
			}
			return
		case <-timer.C:
		}
		wait = min(wait*2, max(p.cfg.DrainMaxBackoff, p.cfg.DrainBackoff))
		if p.isBehind() {
			if probe := p.takeProbe(); probe != nil {
				if err := p.send(ctx, *probe); err != nil {
					p.putProbeBack(probe)
					continue
				}
				p.forget([]string{probe.ID()})
			}
			n, err := p.relay(ctx, 0)
			if err != nil {
				if ctx.Err() == nil {
					log.Warnw("the outbox drain stopped; trying again", "sent", n, "error", err)
				}
				continue
			}
			log.Infow("the sink answers again; the outbox is drained", "relayed", n, "tries", tries)
		}
		if p.endDrain(false) {
			return
		}
	}
}

// endDrain marks the drain over and reports true, unless the publisher
// fell behind again meanwhile and the drain must go on (force ends it all
// the same). Deciding under drainMu means a failure either finds the drain
// running, which then sees it, or starts a new one.
func (p *Publisher) endDrain(force bool) bool {
	p.drainMu.Lock()
	defer p.drainMu.Unlock()
	if !force && !p.closed && p.isBehind() {
		return false
	}
	p.draining = false
	p.probe = nil
	return true
}

// Close stops the background drain and waits for it; events it did not
// send stay in the outbox for the relay. Publish still works afterwards,
// without a drain. A function calls it when it shuts down, before Flush.
func (p *Publisher) Close() {
	p.drainMu.Lock()
	p.closed = true
	p.drainMu.Unlock()
	p.stopDrain()
	p.drainsDone.Wait()
}

func (p *Publisher) caughtUp() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.behind = false
}

// partitionKey returns the item id that orders e, "" when it has none.
func partitionKey(e cloudevents.Event) string {
	k, _ := e.Extensions()[events.PartitionKeyExtension].(string)
	return k
}
