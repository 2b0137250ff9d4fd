package rest

import (
	"net/http"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/web"
)

// reply is what a handler answers when its use case succeeds: a status, a
// JSON body (none when nil) and, for a new resource, its Location.
type reply struct {
	status   int
	location string
	body     any
}

// handlerFunc is the shape of every handler: it reads the request, calls
// one use case and returns the reply, or the error that ends the request.
type handlerFunc func(r *http.Request) (reply, error)

// serve turns a handler into an http.HandlerFunc. It is the one place that
// writes an answer: the reply as JSON, an error, of decoding or of the use
// case, as a problem (infra/edge).
func serve(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rep, err := h(r)
		if err != nil {
			edge.Error(w, r, err)
			return
		}
		if rep.location != "" {
			w.Header().Set("Location", rep.location)
		}
		if rep.body == nil {
			w.WriteHeader(rep.status)
			return
		}
		web.JSON(w, rep.status, rep.body)
	}
}

// checker is a request body with rules of its own on the wire, such as the
// one status a seed client may send; they are checked after decoding.
type checker interface{ check() error }

// decoded is serve for a route that takes a JSON body: the body is decoded
// into In and, when In is a checker, checked before h sees it.
func decoded[In any](h func(r *http.Request, in In) (reply, error)) http.HandlerFunc {
	return serve(func(r *http.Request) (reply, error) {
		var in In
		if err := web.Decode(r, &in); err != nil {
			return reply{}, err
		}
		if c, ok := any(in).(checker); ok {
			if err := c.check(); err != nil {
				return reply{}, err
			}
		}
		return h(r, in)
	})
}

// rule is one rule of a request on the wire; broken names its field.
type rule struct {
	broken         bool
	field, message string
}

// refuse returns the Invalid error that names the field of every broken
// rule, in order, or nil when none is broken.
func refuse(rules ...rule) error {
	var f market.Fields
	for _, r := range rules {
		if r.broken {
			f.Add(r.field, "%s", r.message)
		}
	}
	return f.Err()
}

// idForm is the rule of an id given in a body: when given, it has the form
// of one (market.IsID). An id out of form is a 400, even where an unknown
// id is a 404: it is not an id that names nothing but no id at all.
func idForm(field string, id ID) rule {
	return rule{id != "" && !market.IsID(string(id)), field, market.IDRule}
}

// resource is a wire type that names its own URL, for the Location of 201.
type resource interface{ location() string }

// ok replies 200 with v on the wire, or passes err on.
func ok[S, T any](v S, err error, wire func(S) T) (reply, error) {
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: wire(v)}, nil
}

// created replies 201 with v on the wire and its Location, or passes err on.
func created[S any, T resource](v S, err error, wire func(S) T) (reply, error) {
	if err != nil {
		return reply{}, err
	}
	out := wire(v)
	return reply{status: http.StatusCreated, location: out.location(), body: out}, nil
}

// listed replies 200 with one page of a listing, or passes err on.
func listed[S, T any](src []S, next string, err error, wire func(S) T) (reply, error) {
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: listOf(src, next, wire)}, nil
}

// noContent replies 204, or passes err on.
func noContent(err error) (reply, error) {
	return reply{status: http.StatusNoContent}, err
}
