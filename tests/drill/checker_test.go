package drill

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRetryPolicy reads the triggers' delivery from knative/eventing and
// checks when an event that waited through an outage is tried again:
// retry 40, linear from 1 s, tries at 0, 0, 1, 3, 6, 10 s and so on.
func TestRetryPolicy(t *testing.T) {
	p := loadRetryPolicy()
	require.NoError(t, p.err)
	assert.Equal(t, 13*time.Minute, p.budget())
	for down, want := range map[time.Duration]time.Duration{
		time.Second:      time.Second,
		2 * time.Second:  2 * time.Second,
		30 * time.Second: 8 * time.Second,
		time.Minute:      11 * time.Second,
		13 * time.Minute: 39 * time.Second,
		time.Hour:        worstGap, // the retries ran out: dead-lettered
	} {
		assert.Equal(t, want, p.gap(down), "after %s down", down)
	}
	assert.Equal(t, worstGap, retryPolicy{err: errNoManifests}.gap(time.Second))
}
