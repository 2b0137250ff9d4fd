package boottest

import (
	"net/http"
	"sync/atomic"
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
