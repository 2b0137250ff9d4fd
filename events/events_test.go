package events_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
)

func TestTypes(t *testing.T) {
	t.Parallel()
	// SPEC 5 lists the facts to publish; each must be exactly one type.
	want := []events.Type{
		events.ItemRegistered, events.ItemUpdated, events.ItemDeleted, events.ItemReserved,
		events.ItemReleased, events.ItemSoldOut, events.ItemScored,
		events.ReservationRequested, events.ReservationConfirmed, events.ReservationDeleted,
		events.ReservationCompleted, events.ReservationReopened,
		events.ChatMessagePosted,
		events.PaymentApproved, events.PaymentCancelled,
		events.ReviewWritten,
	}
	got := events.Types()
	slices.Sort(got)
	slices.Sort(want)
	assert.Equal(t, want, got)

	name := regexp.MustCompile(`^carrot(\.[a-z]+)+\.v[1-9][0-9]*$`)
	for _, typ := range got {
		assert.Regexp(t, name, string(typ))
	}
}

func TestNewAttributes(t *testing.T) {
	t.Parallel()
	for _, f := range fixtures() {
		t.Run(string(f.typ), func(t *testing.T) {
			t.Parallel()
			e := MustNew(t, context.Background(), f)
			require.NoError(t, e.Validate())
			assert.Equal(t, cloudevents.VersionV1, e.SpecVersion())
			assert.Equal(t, string(f.typ), e.Type())
			assert.Equal(t, f.id, e.ID())
			assert.Equal(t, f.source, e.Source())
			assert.Equal(t, f.subject, e.Subject(), "subject is the aggregate id")
			assert.Equal(t, f.itemID, e.Extensions()[events.PartitionKeyExtension], "partitionkey is the item id")
			assert.Equal(t, time.UTC, e.Time().Location(), "time is published in UTC")
			assert.True(t, eventTime.Equal(e.Time()))
			assert.Equal(t, cloudevents.ApplicationJSON, e.DataContentType())
			assert.NotContains(t, e.Extensions(), events.TraceparentExtension)
		})
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	meta := events.Meta{ID: "01959a3c-0a00-7000-8000-000000000001", Source: "/carrot/register-item", Time: eventTime}
	tests := []struct {
		name string
		typ  events.Type
		meta events.Meta
		data events.Payload
	}{
		{"unknown type", "carrot.item.bought.v1", meta, item("CREATED", "")},
		{"empty type", "", meta, item("CREATED", "")},
		{"reservation payload for an item fact", events.ItemRegistered, meta, reservation("CREATED", "")},
		{"item payload for a score", events.ItemScored, meta, item("SOLDOUT", "rsv-1")},
		{"score payload for an item fact", events.ItemSoldOut, meta, &events.ItemScore{ItemID: "item-1", SellerID: "u", ReviewID: "rv"}},
		{"item payload for a reservation fact", events.ReservationConfirmed, meta, item("RESERVED", "rsv-1")},
		{"review payload for a payment fact", events.PaymentApproved, meta, &events.Review{
			ReviewID: "rv", RsvID: "rsv", ItemID: "item", ReviewerID: "b", SellerID: "s", Score: 5}},
		{"no payload", events.ItemRegistered, meta, nil},
		{"payload without its item id", events.ItemRegistered, meta, &events.Item{SellerID: "u-seller", Status: "CREATED"}},
		{"payload without its reservation id", events.ReservationRequested, meta, &events.Reservation{
			ItemID: "item-1", BuyerID: "b", SellerID: "s", RsvStatus: "CREATED"}},
		{"review with score 0", events.ReviewWritten, meta, &events.Review{
			ReviewID: "rv", RsvID: "rsv", ItemID: "item", ReviewerID: "b", SellerID: "s", Score: 0}},
		{"no id", events.ItemRegistered, events.Meta{Source: meta.Source, Time: eventTime}, item("CREATED", "")},
		{"no source", events.ItemRegistered, events.Meta{ID: meta.ID, Time: eventTime}, item("CREATED", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := events.New(context.Background(), tt.typ, tt.meta, tt.data)
			assert.Error(t, err)
			assert.Zero(t, e.ID(), "no half-built event")
		})
	}
}

func TestNewRefusesTypedNilPayload(t *testing.T) {
	t.Parallel()
	assert.NotPanics(t, func() {
		_, err := events.New(context.Background(), events.ItemRegistered,
			events.Meta{ID: "id-1", Source: "/carrot/register-item", Time: eventTime}, (*events.Item)(nil))
		assert.Error(t, err)
	})
}

func TestTraceparent(t *testing.T) {
	t.Parallel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name string
		ctx  context.Context
		want string // "" means no extension at all
	}{
		{"no trace", context.Background(), ""},
		{"empty trace is none", events.WithTraceparent(context.Background(), ""), ""},
		{"trace carried", events.WithTraceparent(context.Background(), tp), tp},
		{"inner trace wins", events.WithTraceparent(events.WithTraceparent(context.Background(), "00-aa-bb-01"), tp), tp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, events.Traceparent(tt.ctx))
			for _, f := range fixtures() {
				e := MustNew(t, tt.ctx, f)
				got, ok := e.Extensions()[events.TraceparentExtension]
				if tt.want == "" {
					assert.False(t, ok, "%s: no traceparent without one in ctx", f.typ)
					continue
				}
				assert.Equal(t, tt.want, got, "%s", f.typ)
				assert.Equal(t, f.itemID, e.Extensions()[events.PartitionKeyExtension], "%s", f.typ)

				// The extension survives the wire.
				raw, err := json.Marshal(e)
				require.NoError(t, err)
				var back cloudevents.Event
				require.NoError(t, json.Unmarshal(raw, &back))
				assert.Equal(t, tt.want, back.Extensions()[events.TraceparentExtension], "%s", f.typ)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	withData := func(typ events.Type, data string) cloudevents.Event {
		e := cloudevents.NewEvent()
		e.SetID("01959a3c-0a00-7000-8000-000000000001")
		e.SetSource("/carrot/test")
		e.SetType(string(typ))
		if data != "" {
			require.NoError(t, e.SetData(cloudevents.ApplicationJSON, []byte(data)))
		}
		return e
	}
	tests := []struct {
		name string
		e    cloudevents.Event
	}{
		{"unknown type", withData("carrot.item.bought.v1", `{"itemId":"item-1","sellerId":"u","status":"CREATED"}`)},
		{"future version", withData("carrot.item.registered.v2", `{"itemId":"item-1","sellerId":"u","status":"CREATED"}`)},
		{"no data", withData(events.ItemRegistered, "")},
		{"null data", withData(events.ItemRegistered, `null`)},
		{"malformed JSON", withData(events.ItemRegistered, `{"itemId":"item-1",`)},
		{"data is a string", withData(events.ItemRegistered, `"item-1"`)},
		{"data is a list", withData(events.PaymentApproved, `[{"payId":"pay-1"}]`)},
		{"wrong field type", withData(events.ItemRegistered, `{"itemId":1,"sellerId":"u","status":"CREATED"}`)},
		{"bad time", withData(events.ReservationConfirmed,
			`{"rsvId":"r","itemId":"i","buyerId":"b","sellerId":"s","rsvStatus":"CONFIRMED","createdAt":"yesterday"}`)},
		{"review score out of range", withData(events.ReviewWritten,
			`{"reviewId":"rv","rsvId":"r","itemId":"i","reviewerId":"b","sellerId":"s","score":6}`)},
	}
	// A payload missing any one required field is poison too.
	required := map[events.Type][]string{
		events.ItemRegistered:       {"itemId", "sellerId", "status"},
		events.ItemScored:           {"itemId", "sellerId", "reviewId"},
		events.ReservationConfirmed: {"rsvId", "itemId", "buyerId", "sellerId", "rsvStatus"},
		events.ChatMessagePosted:    {"messageId", "rsvId", "itemId", "senderId"},
		events.PaymentCancelled:     {"payId", "rsvId", "itemId", "buyerId", "status"},
		events.ReviewWritten:        {"reviewId", "rsvId", "itemId", "reviewerId", "sellerId"},
	}
	for typ, fields := range required {
		for _, field := range fields {
			var m map[string]any
			raw, err := json.Marshal(fixtureOf(t, typ).payload)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &m))
			require.Contains(t, m, field)
			delete(m, field)
			raw, err = json.Marshal(m)
			require.NoError(t, err)
			tests = append(tests, struct {
				name string
				e    cloudevents.Event
			}{string(typ) + " without " + field, withData(typ, string(raw))})
		}
	}
	tests = append(tests, struct {
		name string
		e    cloudevents.Event
	}{"empty object", withData(events.ItemUpdated, `{}`)})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := events.Decode(tt.e)
			assert.Error(t, err)
			assert.Nil(t, p)
		})
	}
}

func TestDecodeAcceptsUnknownFields(t *testing.T) {
	t.Parallel()
	// A newer producer may add optional fields to a v1 payload; an older
	// consumer must still read it rather than dead-letter it.
	e := cloudevents.NewEvent()
	e.SetID("id-1")
	e.SetSource("/carrot/pay")
	e.SetType(string(events.PaymentApproved))
	require.NoError(t, e.SetData(cloudevents.ApplicationJSON, []byte(
		`{"payId":"pay-1","rsvId":"rsv-1","itemId":"item-1","buyerId":"u-buyer","status":"APPROVED","amount":100,"method":"card"}`)))
	p, err := events.Decode(e)
	require.NoError(t, err)
	require.IsType(t, &events.Payment{}, p)
	assert.Equal(t, int64(100), p.(*events.Payment).Amount)
}

func TestDerivedID(t *testing.T) {
	t.Parallel()
	cause := MustNew(t, context.Background(), fixtureOf(t, events.PaymentApproved))

	id := events.DerivedID(cause, "/carrot/reservation-policy", events.ReservationCompleted)
	parsed, err := uuid.Parse(id)
	require.NoError(t, err)
	assert.Equal(t, uuid.Version(5), parsed.Version())

	// The same cause, redelivered (decoded afresh, new time, new trace), gives the same id.
	raw, err := json.Marshal(cause)
	require.NoError(t, err)
	var redelivered cloudevents.Event
	require.NoError(t, json.Unmarshal(raw, &redelivered))
	redelivered.SetTime(eventTime.Add(time.Hour))
	redelivered.SetExtension(events.TraceparentExtension, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	assert.Equal(t, id, events.DerivedID(redelivered, "/carrot/reservation-policy", events.ReservationCompleted))
	assert.Equal(t, id, events.DerivedID(cause, "/carrot/reservation-policy", events.ReservationCompleted), "stable across calls")

	otherID := cause.Clone()
	otherID.SetID("01959a3c-0a00-7000-8000-0000000000ee")
	otherSource := cause.Clone()
	otherSource.SetSource("/carrot/cancel-payment")
	// Source and id must not run together: "/a"+"b" is not "/ab".
	joined := cause.Clone()
	joined.SetSource(cause.Source() + cause.ID()[:4])
	joined.SetID(cause.ID()[4:])

	seen := map[string]string{id: "same cause, reservation completed"}
	for name, got := range map[string]string{
		"same cause, another type": events.DerivedID(cause, "/carrot/reservation-policy", events.ItemSoldOut),
		"another cause id":         events.DerivedID(otherID, "/carrot/reservation-policy", events.ReservationCompleted),
		"another cause source":     events.DerivedID(otherSource, "/carrot/reservation-policy", events.ReservationCompleted),
		"another consumer":         events.DerivedID(cause, "/carrot/item-policy", events.ReservationCompleted),
		"source and id shifted":    events.DerivedID(joined, "/carrot/reservation-policy", events.ReservationCompleted),
	} {
		prev, dup := seen[got]
		assert.False(t, dup, "%s collides with %s", name, prev)
		seen[got] = name
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	const n = 2000
	ids := make([]string, 0, n)
	seen := make(map[string]bool, n)
	for i := range n {
		id := events.NewID()
		parsed, err := uuid.Parse(id)
		require.NoError(t, err)
		require.Equal(t, uuid.Version(7), parsed.Version())
		require.False(t, seen[id], "id %d repeats %s", i, id)
		seen[id] = true
		ids = append(ids, id)
		if i == n/2 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	assert.True(t, slices.IsSorted(ids), "ids sort in the order they were made")

	before := time.Now().Add(-time.Second)
	parsed := uuid.MustParse(events.NewID())
	sec, nsec := parsed.Time().UnixTime()
	assert.WithinRange(t, time.Unix(sec, nsec), before, time.Now().Add(time.Second), "the id carries its time")
}

func TestContextOf(t *testing.T) {
	t.Parallel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	withState := func(parent, state string) cloudevents.Event {
		e := cloudevents.NewEvent()
		e.SetExtension(events.TraceparentExtension, parent)
		if state != "" {
			e.SetExtension(events.TracestateExtension, state)
		}
		return e
	}
	tests := []struct {
		name      string
		event     cloudevents.Event
		wantTrace string
		wantState string
	}{
		{"no extension", cloudevents.NewEvent(), "", ""},
		{"a traceparent", withState(tp, ""), tp, ""},
		{"a traceparent and a tracestate", withState(tp, "carrot=1"), tp, "carrot=1"},
		{"a malformed traceparent", withState("00-zz", "carrot=1"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := events.ContextOf(context.Background(), tt.event)
			assert.Equal(t, tt.wantTrace, events.Traceparent(ctx))
			e := MustNew(t, ctx, fixtures()[0])
			state, _ := e.Extensions()[events.TracestateExtension].(string)
			assert.Equal(t, tt.wantState, state, "New carries the tracestate on")
		})
	}
}
