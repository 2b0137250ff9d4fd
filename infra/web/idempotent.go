package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// IdempotencyKeyHeader is the request header naming a retryable POST.
const IdempotencyKeyHeader = "Idempotency-Key"

// ReplayedHeader marks an answer that was stored, not produced again.
const ReplayedHeader = "Idempotent-Replayed"

// IdempotencyLease is how long a request holds its key while it runs. A
// request that crashes frees its key when the lease ends; one that runs
// longer than the lease may run twice.
const IdempotencyLease = 30 * time.Second

// maxIdempotencyKey bounds the header value.
const maxIdempotencyKey = 255

// storedHeaders are the headers of an answer a replay repeats.
var storedHeaders = []string{"Content-Type", "Location"}

// Idempotent returns middleware that makes a request carrying an
// Idempotency-Key header run at most once per key: a retry with the same
// key and body gets the first answer again, with Idempotent-Replayed: true.
// A request without the header runs as usual. Mount it on POST routes,
// inside Auth.Require: keys are scoped by UserID, method and path, so two
// users (or two routes) never share a key. Outside Require every caller
// shares the anonymous scope.
//
// The answers:
//   - a key that is empty, longer than 255 bytes or not printable ASCII is
//     a 400 naming the field "Idempotency-Key";
//   - a key reused with another body (its SHA-256 differs) is a 422;
//   - a key whose first request still runs is a 409 with Retry-After;
//   - a won key runs the handler; any answer below 500 is stored, then
//     sent, so a caller that sees an answer can rely on its replay; a 5xx
//     answer (or a panic) aborts the key so that a retry runs again.
//
// The body is read up to MaxBodyBytes (413 beyond) to fingerprint it and is
// handed on unchanged. A failure of the store, and every refusal above
// that is an error, is answered by fail, which knows the store's errors
// (infra/edge.Error knows the domain's). Failing to store an answer is
// logged, not returned: the command has run, and the caller gets its
// answer.
func Idempotent(store IdempotencyStore, fail ErrorFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			values := r.Header.Values(IdempotencyKeyHeader)
			if len(values) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			if len(values) > 1 || !validIdempotencyKey(values[0]) {
				fail(w, r, invalidField(IdempotencyKeyHeader,
					fmt.Sprintf("must be one value of 1 to %d printable ASCII characters", maxIdempotencyKey)))
				return
			}
			body, err := readBody(r)
			if err != nil {
				fail(w, r, err)
				return
			}
			sum := sha256.Sum256(body)
			fingerprint := hex.EncodeToString(sum[:])
			key := idempotencyScope(r, values[0])
			ctx := r.Context()

			stored, err := store.Begin(ctx, key, fingerprint, IdempotencyLease)
			switch {
			case errors.Is(err, ErrInProgress):
				w.Header().Set("Retry-After", "1")
				WriteProblem(w, NewProblem(http.StatusConflict, "a request with this Idempotency-Key is still running; retry later"))
				return
			case err != nil:
				fail(w, r, err)
				return
			case stored != nil && stored.Fingerprint != fingerprint:
				WriteProblem(w, NewProblem(http.StatusUnprocessableEntity,
					"this Idempotency-Key was used with another request body; use a new key for a new request"))
				return
			case stored != nil:
				replay(w, stored)
				return
			}

			r.Body = io.NopCloser(bytes.NewReader(body))
			rec := &recorder{header: http.Header{}, status: http.StatusOK}
			// A context that outlives the caller: the answer must be stored
			// or the key freed even when the client hangs up.
			bg := context.WithoutCancel(ctx)
			finished := false
			defer func() {
				if !finished {
					if err := store.Abort(bg, key); err != nil {
						Log(ctx).Errorw("idempotency key not freed after a panic", "error", err)
					}
				}
			}()
			next.ServeHTTP(rec, r)
			finished = true

			if rec.status >= http.StatusInternalServerError {
				if err := store.Abort(bg, key); err != nil {
					Log(ctx).Errorw("idempotency key not freed; a retry waits for its lease", "error", err)
				}
			} else if err := store.Finish(bg, key, rec.stored(fingerprint)); err != nil {
				Log(ctx).Errorw("idempotent answer not stored; a retry after the lease runs again", "error", err)
			}
			rec.sendTo(w)
		})
	}
}

// idempotencyScope builds the store key. The user id is quoted, so no user
// id can forge another user's scope; the key comes last and may hold
// anything printable.
func idempotencyScope(r *http.Request, key string) string {
	user := UserID(r.Context())
	return fmt.Sprintf("%s %s %s %s", strconv.Quote(user), r.Method, r.URL.EscapedPath(), key)
}

func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

func replay(w http.ResponseWriter, s *StoredResponse) {
	for k, v := range s.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set(ReplayedHeader, "true")
	w.WriteHeader(s.Status)
	_, _ = w.Write(s.Body)
}

// recorder buffers an answer so that it is stored before the caller sees
// it. Handlers in carrot answer small JSON bodies, so buffering is cheap.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (c *recorder) Header() http.Header { return c.header }

func (c *recorder) WriteHeader(status int) {
	if c.wroteHeader {
		return
	}
	c.status, c.wroteHeader = status, true
}

func (c *recorder) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return c.body.Write(b)
}

func (c *recorder) stored(fingerprint string) StoredResponse {
	h := map[string]string{}
	for _, k := range storedHeaders {
		if v := c.header.Get(k); v != "" {
			h[k] = v
		}
	}
	return StoredResponse{Fingerprint: fingerprint, Status: c.status, Header: h, Body: c.body.Bytes()}
}

func (c *recorder) sendTo(w http.ResponseWriter) {
	for k, v := range c.header {
		w.Header()[k] = v
	}
	w.WriteHeader(c.status)
	_, _ = w.Write(c.body.Bytes())
}
