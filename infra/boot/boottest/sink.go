package boottest

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/carrot-market/carrot/events"
)

// SinkOutage takes the broker stand-in down and brings it back, for tests
// of SPEC section 6 ("Broker down: commands still succeed; their events
// arrive after it returns; none lost"). While it is down the sink answers
// every event 503 with Retry-After, as an unavailable broker ingress does,
// and neither logs nor delivers it, so publishers keep their events in the
// outbox. The zero value is up; it is safe for concurrent use.
type SinkOutage struct{ down atomic.Bool }

// Begin takes the sink down.
func (o *SinkOutage) Begin() { o.down.Store(true) }

// End brings the sink back; events sent from now on are logged and
// delivered again.
func (o *SinkOutage) End() { o.down.Store(false) }

// WithSinkOutage puts o in front of the sink, so that the test decides
// when the broker is down.
func WithSinkOutage(o *SinkOutage) Option { return func(opts *options) { opts.outage = o } }

// guard returns sink behind o; a nil o leaves sink as it is.
func (o *SinkOutage) guard(sink http.Handler) http.Handler {
	if o == nil {
		return sink
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.down.Load() {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "the broker is down", http.StatusServiceUnavailable)
			return
		}
		sink.ServeHTTP(w, r)
	})
}

// sink is a broker stand-in: it logs every event and, when deliver is on,
// posts it to each consumer whose trigger takes its type before answering.
type sink struct {
	routes  map[events.Type][]string
	deliver bool

	mu  sync.Mutex
	log []cloudevents.Event
}

func (k *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	k.mu.Lock()
	k.log = append(k.log, *e)
	k.mu.Unlock()
	if k.deliver {
		for _, url := range k.routes[events.Type(e.Type())] {
			status, err := post(r.Context(), url, *e)
			if err != nil || status >= 300 {
				http.Error(w, "a consumer failed", http.StatusBadGateway)
				return
			}
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

func post(ctx context.Context, url string, e cloudevents.Event) (int, error) {
	req, err := cehttp.NewHTTPRequestFromEvent(ctx, url, e)
	if err != nil {
		return 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}
