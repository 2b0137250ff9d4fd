package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gorilla/mux"

	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/infra/web"
)

// controls are the local-only routes that operational drills use. Each
// answers JSON, or a problem: 404 for an unknown function, 409 for a
// control that cannot apply (a rollout in progress, an external Kafka),
// 503 when the runtime could not do it (a revision that never became
// ready, a runtime shutting down).
type controls struct {
	fns     Functions
	kafka   KafkaSwitch
	letters DeadLetters
}

// rolloutRequest is the optional body of POST .../rollout, as `kn service
// update --env K=V`.
type rolloutRequest struct {
	Env map[string]string `json:"env"`
}

// rollout answers POST /_local/functions/{name}/rollout once traffic has
// moved to the new revision: {"function", "revision", "previous"}.
func (c controls) rollout(w http.ResponseWriter, r *http.Request) {
	var in rolloutRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, web.MaxBodyBytes))
	if err != nil {
		web.WriteProblem(w, web.NewProblem(http.StatusBadRequest, "the body could not be read"))
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := web.Decode(r, &in); err != nil {
			edge.Error(w, r, err)
			return
		}
	}
	res, err := c.fns.Rollout(r.Context(), mux.Vars(r)["name"], in.Env)
	if err != nil {
		writeControlError(w, err)
		return
	}
	web.JSON(w, http.StatusOK, res)
}

func (c controls) startOutage(w http.ResponseWriter, r *http.Request) { c.setOutage(w, r, true) }
func (c controls) endOutage(w http.ResponseWriter, r *http.Request)   { c.setOutage(w, r, false) }

// setOutage answers {"function", "outage"} once the outage started or
// ended.
func (c controls) setOutage(w http.ResponseWriter, r *http.Request, on bool) {
	name := mux.Vars(r)["name"]
	if err := c.fns.SetOutage(name, on); err != nil {
		writeControlError(w, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"function": name, "outage": on})
}

// unhealthy sends POST /_dev/unhealthy through the function's activator,
// so that it lands on one ready instance (starting one if none), and
// answers what that instance answered: {"pid"}.
func (c controls) unhealthy(w http.ResponseWriter, r *http.Request) {
	req := httptest.NewRequestWithContext(r.Context(), http.MethodPost, web.DevUnhealthyPath, nil)
	req.RemoteAddr = r.RemoteAddr
	c.fns.Handler(mux.Vars(r)["name"]).ServeHTTP(w, req)
}

func (c controls) kafkaDown(w http.ResponseWriter, _ *http.Request) { c.setKafka(w, false) }
func (c controls) kafkaUp(w http.ResponseWriter, _ *http.Request)   { c.setKafka(w, true) }

// setKafka answers {"up"} once Kafka stopped or started again.
func (c controls) setKafka(w http.ResponseWriter, up bool) {
	if err := c.kafka.SetKafka(up); err != nil {
		writeControlError(w, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]bool{"up": up})
}

// redrive answers POST /_local/dead-letters/redrive once every dead
// letter not re-driven before is back in the broker: {"redriven",
// "byDestination", "refused", "unreadable"}. When the broker stops taking
// them it answers 503 with what it did in the detail; asking again goes
// on from there.
func (c controls) redrive(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), redriveTimeout)
	defer cancel()
	res, err := c.letters.Redrive(ctx)
	if err != nil {
		web.WriteProblem(w, web.NewProblem(http.StatusServiceUnavailable, fmt.Sprintf("re-drove %d dead letters, then: %v", res.Redriven, err)))
		return
	}
	web.JSON(w, http.StatusOK, res)
}

// writeControlError answers a failed control with its problem.
func writeControlError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var rollout *serving.RolloutError
	switch {
	case errors.Is(err, serving.ErrUnknownFunction):
		status = http.StatusNotFound
	case errors.Is(err, serving.ErrRolloutInProgress), errors.Is(err, ErrExternalKafka):
		status = http.StatusConflict
	case errors.As(err, &rollout), errors.Is(err, serving.ErrClosed):
		status = http.StatusServiceUnavailable
	}
	web.WriteProblem(w, web.NewProblem(status, err.Error()))
}
