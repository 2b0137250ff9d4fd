package outbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// memoryOutbox is an in-memory Outbox: events in commit order.
type memoryOutbox struct {
	mu         sync.Mutex
	events     []cloudevents.Event
	limits     []int
	markErr    error
	forgetless bool          // MarkSent succeeds but deletes nothing
	marks      [][]string    // the ids of each MarkSent call
	hold       chan struct{} // when set, MarkSent waits until it is closed
}

func (m *memoryOutbox) add(evs ...cloudevents.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, evs...)
}

func (m *memoryOutbox) PendingEvents(_ context.Context, limit int) ([]cloudevents.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.limits = append(m.limits, limit)
	n := min(limit, len(m.events))
	return slices.Clone(m.events[:n]), nil
}

func (m *memoryOutbox) MarkSent(_ context.Context, ids ...string) error {
	if m.hold != nil {
		<-m.hold
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marks = append(m.marks, slices.Clone(ids))
	if m.markErr != nil {
		return m.markErr
	}
	if m.forgetless {
		return nil
	}
	m.events = slices.DeleteFunc(m.events, func(e cloudevents.Event) bool { return slices.Contains(ids, e.ID()) })
	return nil
}

func (m *memoryOutbox) pending() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for _, e := range m.events {
		ids = append(ids, e.ID())
	}
	return ids
}

// markCalls returns the ids of every MarkSent call so far.
func (m *memoryOutbox) markCalls() [][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.marks)
}

// sink is an httptest broker ingress that records what it accepted and
// answers the statuses set by answer (202 by default).
type sink struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	hang     bool
	stop     chan struct{}
	accepted []http.Header
	attempts []string
}

func newSink(t *testing.T) *sink {
	s := &sink{statuses: []int{http.StatusAccepted}, stop: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		status, hang := s.statuses[0], s.hang
		if len(s.statuses) > 1 {
			s.statuses = s.statuses[1:]
		}
		s.attempts = append(s.attempts, r.Header.Get("Ce-Id"))
		if status/100 == 2 && !hang {
			s.accepted = append(s.accepted, r.Header.Clone())
		}
		s.mu.Unlock()
		if hang {
			select {
			case <-r.Context().Done():
			case <-s.stop:
			}
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(func() {
		close(s.stop)
		s.Close()
	})
	return s
}

// answer makes the sink answer the next events with statuses in turn,
// and every later one with the last.
func (s *sink) answer(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses = statuses
}

func (s *sink) hangUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = true
}

func (s *sink) headers() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.accepted)
}

func (s *sink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, h := range s.accepted {
		ids = append(ids, h.Get("Ce-Id"))
	}
	return ids
}

func (s *sink) tried() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.attempts)
}
