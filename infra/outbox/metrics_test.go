package outbox

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/telemetry/telemetrytest"
)

// The publisher counts its sends by path and outcome, and the relay says
// what it left behind. It runs alone: the parallel tests wait.
func TestSendsAndBacklogAreMeasured(t *testing.T) {
	s, o := newSink(t), &memoryOutbox{}
	p := MustPublisher(t, o, s.URL)
	sent := func(path, outcome string) float64 {
		return telemetrytest.MustRead(t).Value("carrot_outbox_sends_total", map[string]string{"path": path, "outcome": outcome})
	}
	backlog := func() float64 { return telemetrytest.MustRead(t).Value("carrot_outbox_backlog", nil) }
	steps := []struct {
		name         string
		statuses     []int
		run          func()
		path         string
		sent, failed float64
		backlog      float64
	}{
		{name: "a command's events, the second refused", statuses: []int{http.StatusOK, http.StatusBadGateway},
			run: func() { commit(p, o, testEvents(t, 3)...) }, path: "publish", sent: 1, failed: 1, backlog: -1},
		{name: "a relay while the sink is down", statuses: []int{http.StatusServiceUnavailable},
			run: func() { _, _ = p.Relay(context.Background()) }, path: "relay", failed: 1, backlog: 2},
		{name: "a relay once it is back", statuses: []int{http.StatusOK},
			run: func() {
				_, err := p.Relay(context.Background())
				require.NoError(t, err)
			}, path: "relay", sent: 2, backlog: 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			sentBefore, failedBefore := sent(st.path, "sent"), sent(st.path, "failed")
			s.answer(st.statuses...)
			st.run()
			assert.Equal(t, st.sent, sent(st.path, "sent")-sentBefore)
			assert.Equal(t, st.failed, sent(st.path, "failed")-failedBefore)
			if st.backlog >= 0 {
				assert.Equal(t, st.backlog, backlog())
			}
		})
	}
}
