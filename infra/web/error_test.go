package web_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/infra/web/webtest"
)

// TestError covers the plumbing's own translation; infra/edge's tests
// cover the domain's.
func TestError(t *testing.T) {
	t.Parallel()
	webtest.CheckErrors(t, web.Error, []webtest.ErrorCase{
		{Name: "invalid with fields", Err: &web.StatusError{Status: 400, Detail: "the request has invalid fields",
			Fields: []web.FieldError{{Field: "price", Message: "must be at most 1000000000"}}},
			Status: 400, Type: "invalid", Detail: "the request has invalid fields",
			Fields: []web.FieldError{{Field: "price", Message: "must be at most 1000000000"}}},
		{Name: "unauthorized", Err: &web.StatusError{Status: 401, Detail: "log in"}, Status: 401, Type: "unauthorized",
			Detail: "log in", Header: "WWW-Authenticate", HeaderWant: `Bearer realm="carrot"`},
		{Name: "unavailable wrapped", Err: fmt.Errorf("store: %w", &web.StatusError{Status: 503, Detail: "try later"}), Status: 503,
			Type: "unavailable", Detail: "try later", Header: "Retry-After", HeaderWant: "2"},
		{Name: "plain error hides its text", Err: errors.New("operation error DynamoDB: PutItem, https response error"),
			Status: 500, Type: "internal", Detail: web.InternalDetail},
		{Name: "wrapping status error keeps its own answer", Err: &web.StatusError{Status: 400, Detail: "wrong form", Err: errors.New("dynamo")},
			Status: 400, Type: "invalid", Detail: "wrong form"},
		{Name: "status error 413", Err: &web.StatusError{Status: 413, Detail: "the body exceeds 65536 bytes"},
			Status: 413, Type: "payload-too-large", Detail: "the body exceeds 65536 bytes"},
		{Name: "status error with title", Err: &web.StatusError{Status: 415, Title: "Not JSON", Detail: "send JSON"},
			Status: 415, Type: "unsupported-media-type", Detail: "send JSON"},
	})
}
