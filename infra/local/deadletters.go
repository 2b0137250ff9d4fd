package local

import (
	"context"
	"sync"
	"time"

	"github.com/carrot-market/carrot/infra/broker"
)

// DeadLetters re-drives the dead letters of the triggers to the broker
// (broker.Redrive).
type DeadLetters interface {
	Redrive(ctx context.Context) (broker.RedriveResult, error)
}

// redriveTimeout bounds one re-drive from the control route.
const redriveTimeout = 2 * time.Minute

// deadLetters re-drives every dead-letter topic of the manifests to the
// runtime's broker ingress, one re-drive at a time, and counts what it
// re-drove for GET /_local/status.
type deadLetters struct {
	seeds   []string
	ingress string
	topics  []string

	mu     sync.Mutex // one re-drive at a time; guards status
	status DeadLetterStatus
}

// DeadLetterStatus is the deadLetters part of GET /_local/status.
type DeadLetterStatus struct {
	// Redriven counts the dead letters the broker took again since the
	// runtime started; Redrives counts the re-drives.
	Redriven  int64  `json:"redriven"`
	Redrives  int64  `json:"redrives"`
	LastError string `json:"lastError,omitempty"`
}

func (d *deadLetters) Redrive(ctx context.Context) (broker.RedriveResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	total := broker.RedriveResult{ByDestination: map[string]int{}}
	var err error
	for _, topic := range d.topics {
		var r broker.RedriveResult
		r, err = broker.Redrive(ctx, broker.RedriveConfig{Seeds: d.seeds, Ingress: d.ingress, Topic: topic})
		total.Redriven += r.Redriven
		total.Refused += r.Refused
		total.Unreadable += r.Unreadable
		for dest, n := range r.ByDestination {
			total.ByDestination[dest] += n
		}
		if err != nil {
			break
		}
	}
	d.status.Redrives++
	d.status.Redriven += int64(total.Redriven)
	d.status.LastError = ""
	if err != nil {
		d.status.LastError = err.Error()
	}
	return total, err
}

func (d *deadLetters) snapshot() DeadLetterStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}
