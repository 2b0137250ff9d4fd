package system

import (
	"github.com/carrot-market/carrot/infra/broker"
	"github.com/carrot-market/carrot/infra/serving"
)

// Status is what the local runtime's GET /_local/status answers.
type Status struct {
	Functions []serving.FunctionStatus `json:"functions"`
	Triggers  []broker.TriggerStatus   `json:"triggers"`
	Kafka     KafkaStatus              `json:"kafka"`
	// DeadLetters counts what POST /_local/dead-letters/redrive re-drove.
	DeadLetters DeadLetterStatus `json:"deadLetters"`
}

// DeadLetterStatus counts the runtime's re-drives of dead letters.
type DeadLetterStatus struct {
	Redriven int64 `json:"redriven"`
	Redrives int64 `json:"redrives"`
}

// KafkaStatus says whether the runtime's Kafka is serving.
type KafkaStatus struct {
	Up       bool `json:"up"`
	External bool `json:"external"` // KAFKA_BOOTSTRAP_SERVERS: it cannot be switched off
}

// Function returns the status of the function called name, or a zero one
// named "" when there is none.
func (st Status) Function(name string) serving.FunctionStatus {
	for _, f := range st.Functions {
		if f.Name == name {
			return f
		}
	}
	return serving.FunctionStatus{}
}

// Trigger returns the status of the trigger called name, or a zero one
// named "" when there is none.
func (st Status) Trigger(name string) broker.TriggerStatus {
	for _, tr := range st.Triggers {
		if tr.Name == name {
			return tr
		}
	}
	return broker.TriggerStatus{}
}

// CaughtUp reports whether every trigger has delivered everything on the
// broker topic (lag 0); a status without triggers has not.
func (st Status) CaughtUp() bool {
	for _, tr := range st.Triggers {
		if tr.Lag != 0 {
			return false
		}
	}
	return len(st.Triggers) > 0
}

// SameTriggerCounts reports whether st and other show the same triggers
// with the same counts (lag aside): nothing was delivered, retried,
// dead-lettered, dropped or filtered between the two.
func (st Status) SameTriggerCounts(other Status) bool {
	if len(st.Triggers) != len(other.Triggers) {
		return false
	}
	for i, x := range st.Triggers {
		y := other.Triggers[i]
		if x.Name != y.Name || x.Delivered != y.Delivered || x.Retried != y.Retried ||
			x.DeadLettered != y.DeadLettered || x.Dropped != y.Dropped || x.Filtered != y.Filtered {
			return false
		}
	}
	return true
}

// Instances counts the live instances of each function.
func (st Status) Instances() map[string]int {
	counts := make(map[string]int, len(st.Functions))
	for _, f := range st.Functions {
		counts[f.Name] = len(f.Instances)
	}
	return counts
}
