package web

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
)

// TestNewServerSetsEveryLimit checks that NewServer leaves no timeout at
// Go's default of none and bounds the header. The gateway's tests check
// what the limits do to slow and flooding clients.
func TestNewServerSetsEveryLimit(t *testing.T) {
	t.Parallel()
	srv := NewServer(http.NotFoundHandler(), zap.NewNop().Sugar())
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		assert.Positive(t, d, name)
	}
	assert.Equal(t, MaxHeaderBytes, srv.MaxHeaderBytes)
	assert.NotNil(t, srv.ErrorLog)
}
