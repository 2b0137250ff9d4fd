package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"

	"github.com/carrot-market/carrot/infra/manifest"
)

// PingSourceType is the CloudEvents type Knative's PingSource sends.
const PingSourceType = "dev.knative.sources.ping"

// Ping is a PingSource of the manifests: a schedule and the function it
// wakes.
type Ping struct {
	Name     string
	Schedule cron.Schedule
	Data     string
	Sink     string // the name of the Knative Service it sends to
	// Answer, when set, is given each answer of the sink to a tick.
	Answer func(status int, body []byte)
}

// LoadPing reads the one PingSource of the manifest file at path, whose
// documents are all decoded strictly (package manifest).
func LoadPing(path string) (Ping, error) {
	docs, err := manifest.Load(path)
	if err != nil {
		return Ping{}, err
	}
	sources := manifest.Objects[*sourcesv1.PingSource](docs)
	if len(sources) != 1 {
		return Ping{}, fmt.Errorf("%s: want exactly one PingSource, found %d", filepath.Base(path), len(sources))
	}
	src := sources[0]
	sched, err := cron.ParseStandard(src.Spec.Schedule)
	if err != nil {
		return Ping{}, err
	}
	if src.Spec.Sink.Ref == nil {
		return Ping{}, errNoRef(filepath.Base(path))
	}
	return Ping{Name: src.Name, Schedule: sched, Data: src.Spec.Data, Sink: src.Spec.Sink.Ref.Name}, nil
}

type errNoRef string

func (e errNoRef) Error() string { return string(e) + ": the sink must name a Service (ref)" }

// RunPing sends a ping event to target on p's schedule until ctx ends, or
// every `every` when it is set (a developer's shortcut: the manifests wake
// the relay once a minute), and at once whenever kick receives (the
// runtime kicks when Kafka comes back, so what a stopped function left in
// the outbox goes out too). A failed tick is logged; the next one comes
// anyway, as with Knative's PingSource.
func RunPing(ctx context.Context, p Ping, target http.Handler, every time.Duration, kick <-chan struct{}, log *zap.SugaredLogger) {
	next := func(now time.Time) time.Time {
		if every > 0 {
			return now.Add(every)
		}
		return p.Schedule.Next(now)
	}
	at := next(time.Now())
	for {
		timer := time.NewTimer(time.Until(at))
		tick := at
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-kick:
			timer.Stop()
			tick = time.Now()
		case <-timer.C:
			at = next(time.Now())
		}
		sendPing(ctx, p, target, tick, log)
	}
}

// sendPing sends one tick of p, stamped at, to target.
func sendPing(ctx context.Context, p Ping, target http.Handler, at time.Time, log *zap.SugaredLogger) {
	e := cloudevents.NewEvent()
	e.SetID(at.UTC().Format(time.RFC3339Nano))
	e.SetType(PingSourceType)
	e.SetSource("/apis/v1/namespaces/default/pingsources/" + p.Name)
	e.SetTime(at)
	_ = e.SetData(cloudevents.ApplicationJSON, []byte(p.Data))
	req, err := cehttp.NewHTTPRequestFromEvent(ctx, "http://local/", e)
	if err != nil {
		log.Errorw("ping: cannot build the event", "error", err)
		return
	}
	rec := httptest.NewRecorder()
	target.ServeHTTP(rec, req)
	if p.Answer != nil {
		p.Answer(rec.Code, rec.Body.Bytes())
	}
	if rec.Code >= 300 {
		log.Warnw("ping: the sink did not take the tick", "sink", p.Sink, "status", rec.Code)
	}
}

// reconcilerStatus counts what the reconciler's ticks answered, for
// /_local/status.
type reconcilerStatus struct {
	mu       sync.Mutex
	runs     int
	failed   int
	repaired int
	last     json.RawMessage
}

func (r *reconcilerStatus) record(status int, body []byte) {
	var answer struct {
		Repaired int `json:"repaired"`
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs++
	if status >= 300 || json.Unmarshal(body, &answer) != nil {
		r.failed++
		return
	}
	r.repaired += answer.Repaired
	r.last = append(json.RawMessage(nil), body...)
}

func (r *reconcilerStatus) snapshot() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return map[string]any{"runs": r.runs, "failed": r.failed, "repaired": r.repaired, "last": r.last}
}
