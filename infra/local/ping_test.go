package local

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
)

func TestRunPingTicksAtOnceWhenKicked(t *testing.T) {
	t.Parallel()
	var ticks atomic.Int32
	target := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Ce-Type") == PingSourceType {
			ticks.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
	})
	sched, err := cron.ParseStandard("* * * * *")
	assert.NoError(t, err)
	kick := make(chan struct{}, 1)
	go RunPing(t.Context(), Ping{Name: "relay", Schedule: sched, Sink: "outbox-relay"}, target, time.Hour, kick, zap.NewNop().Sugar())

	time.Sleep(50 * time.Millisecond)
	assert.Zero(t, ticks.Load(), "nothing before the schedule")
	kick <- struct{}{}
	assert.Eventually(t, func() bool { return ticks.Load() == 1 }, 5*time.Second, 10*time.Millisecond, "a kick ticks at once")
	kick <- struct{}{}
	assert.Eventually(t, func() bool { return ticks.Load() == 2 }, 5*time.Second, 10*time.Millisecond)
}
