package broker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/eventing/pkg/kncloudevents"

	"github.com/carrot-market/carrot/infra/web"
)

// noResponse is the status of an attempt that got no HTTP answer: the URL
// could not be resolved, the connection failed or the request timed out.
const noResponse = -1

// maxResponseBody bounds how much of an answer is read; a longer reply
// event is cut and fails to decode.
const maxResponseBody = 4 << 20

// answer is the outcome of one HTTP attempt.
type answer struct {
	status int // noResponse when no HTTP answer arrived
	header http.Header
	body   []byte
	err    error // why no answer arrived, or why the body could not be read
}

func (a answer) ok() bool { return a.status >= 200 && a.status < 300 }

// response rebuilds what Knative's retry functions read: nil without an
// HTTP answer.
func (a answer) response() *http.Response {
	if a.status == noResponse {
		return nil
	}
	return &http.Response{StatusCode: a.status, Header: a.header}
}

// retryPolicy is Knative's retry configuration of one delivery spec:
// RetryConfigFromDeliverySpec gives the retry count, the linear or
// exponential backoff, the per-attempt timeout and the Retry-After cap,
// and SelectiveRetry decides which answers are retried (404, 408, 409,
// 429, 5xx and no answer at all).
//
// Pitfalls kept from Knative: backoffDelay has a resolution of a tenth of
// a second (PT0.05S parses as zero), and a linear policy waits nothing
// before the first retry (delay × attempt, counting from 0).
func retryPolicy(spec *eventingduckv1.DeliverySpec) (kncloudevents.RetryConfig, error) {
	if spec == nil {
		spec = &eventingduckv1.DeliverySpec{}
	}
	return kncloudevents.RetryConfigFromDeliverySpec(*spec)
}

// backoff is how long to wait after the attempt numbered attempt (0 for
// the first) got a. It follows kncloudevents: the policy's backoff, or the
// answer's Retry-After when that is longer, but Retry-After counts only on
// 429 and 503 and only when the spec sets retryAfterMax, which caps it.
func backoff(policy kncloudevents.RetryConfig, attempt int, a answer) time.Duration {
	wait := policy.Backoff(attempt, a.response())
	if policy.RetryAfterMaxDuration == nil || (a.status != http.StatusTooManyRequests && a.status != http.StatusServiceUnavailable) {
		return wait
	}
	retryAfter := min(parseRetryAfter(a.header.Get("Retry-After")), *policy.RetryAfterMaxDuration)
	return max(wait, retryAfter)
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date;
// anything else counts as no wait.
func parseRetryAfter(value string) time.Duration {
	if value == "" {
		return 0
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		return time.Duration(seconds) * time.Second
	}
	if at, err := http.ParseTime(value); err == nil {
		return time.Until(at)
	}
	return 0
}

// poster sends CloudEvents over HTTP, in binary mode unless structured.
type poster struct {
	client     *http.Client
	structured bool
}

// deliversStructured reports whether a delivery spec asks for structured
// mode (format: json); Knative's default, and the broker's, is binary.
func deliversStructured(spec *eventingduckv1.DeliverySpec) bool {
	return spec != nil && spec.Format != nil && *spec.Format == eventingduckv1.DeliveryFormatJson
}

// post sends e to url once, as Knative's dispatcher does: with "Prefer:
// reply", within timeout when it is not zero, and with the trace context
// of ctx in its traceparent header.
func (p poster) post(ctx context.Context, url string, e cloudevents.Event, timeout time.Duration) answer {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return answer{status: noResponse, err: err}
	}
	mode := binding.WithForceBinary(ctx)
	if p.structured {
		mode = binding.WithForceStructured(ctx)
	}
	if err := cehttp.WriteRequest(mode, binding.ToMessage(&e), req); err != nil {
		return answer{status: noResponse, err: fmt.Errorf("encode event: %w", err)}
	}
	req.Header.Set("Prefer", "reply")
	web.InjectTrace(ctx, req.Header)
	resp, err := p.client.Do(req)
	if err != nil {
		return answer{status: noResponse, err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	return answer{status: resp.StatusCode, header: resp.Header, body: body, err: err}
}

// attempts is the result of sending one event with retries.
type attempts struct {
	last      answer
	target    string // the URL of the last attempt
	count     int    // how many requests were sent
	abandoned bool   // ctx ended first; the outcome is unknown
}

// sendWithRetries sends e to the URL target returns until it answers 2xx,
// answers what policy does not retry, or the retries run out. target is
// asked again before every attempt, so a subscriber that moves (or wakes
// up behind an activator) is followed.
func (p poster) sendWithRetries(ctx context.Context, e cloudevents.Event, policy kncloudevents.RetryConfig, target func() (string, error)) attempts {
	var result attempts
	for attempt := 0; ; attempt++ {
		url, err := target()
		if err != nil {
			result.last = answer{status: noResponse, err: fmt.Errorf("resolve subscriber: %w", err)}
		} else {
			result.target = url
			actx, span := startAttemptSpan(ctx, e, url, attempt)
			result.last = p.post(actx, url, e, policy.RequestTimeout)
			endAttemptSpan(span, result.last)
			result.count++
		}
		if ctx.Err() != nil {
			result.abandoned = true
			return result
		}
		if result.last.ok() {
			return result
		}
		retry, _ := policy.CheckRetry(ctx, result.last.response(), result.last.err)
		if !retry || attempt >= policy.RetryMax {
			return result
		}
		if !sleep(ctx, backoff(policy, attempt, result.last)) {
			result.abandoned = true
			return result
		}
	}
}

// replyOf returns the event a 2xx answer carries, if any. An answer in no
// CloudEvents encoding carries none.
func replyOf(ctx context.Context, a answer) (*cloudevents.Event, error) {
	message := cehttp.NewMessage(a.header, io.NopCloser(bytes.NewReader(a.body)))
	defer message.Finish(nil)
	if message.ReadEncoding() == binding.EncodingUnknown {
		return nil, nil
	}
	reply, err := binding.ToEvent(ctx, message)
	if err != nil {
		return nil, fmt.Errorf("decode reply: %w", err)
	}
	if err := reply.Validate(); err != nil {
		return nil, fmt.Errorf("invalid reply: %w", err)
	}
	return reply, nil
}

// sleep waits for d and reports false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
