package web

import (
	"net/http"
	"strings"

	"github.com/carrot-market/carrot/events"
)

// RequestIDHeader carries the id the gateway gives every request
// (infra/gateway): the function receives it and the caller gets it back on
// the answer, so one request can be found in the logs of both.
const RequestIDHeader = "X-Request-Id"

// Traceparent is middleware that carries the W3C traceparent header of a
// request into its context (events.WithTraceparent), so that the events a
// command publishes continue the caller's trace. A malformed header is
// dropped, as the W3C Trace Context spec asks, rather than propagated.
func Traceparent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tp := r.Header.Get("traceparent"); ValidTraceparent(tp) {
			r = r.WithContext(events.WithTraceparent(r.Context(), tp))
		}
		next.ServeHTTP(w, r)
	})
}

// ValidTraceparent reports whether tp has the version-traceid-parentid-flags
// form of W3C Trace Context level 1: lowercase hex fields of 2, 32, 16 and
// 2 digits, version ff and all-zero ids invalid. A later version may append
// fields.
func ValidTraceparent(tp string) bool {
	if len(tp) < 55 || (len(tp) > 55 && (tp[:2] == "00" || tp[55] != '-')) {
		return false
	}
	parts := strings.Split(tp[:55], "-")
	if len(parts) != 4 {
		return false
	}
	for i, n := range []int{2, 32, 16, 2} {
		if len(parts[i]) != n || !lowerHex(parts[i]) {
			return false
		}
	}
	return parts[0] != "ff" &&
		parts[1] != strings.Repeat("0", 32) &&
		parts[2] != strings.Repeat("0", 16)
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}
