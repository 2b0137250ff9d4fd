package tests

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/tests/system"
)

// TestEdge is the edge matrix of SPEC section 6 over the running system,
// through the gateway as a client meets it: every input class a hostile
// user tries (wrong case, duplicated keys, null, text that is not text,
// ids of any size), the headers every answer carries, CORS, HEAD, the
// privacy of a deal per role, malformed HTTP, and a function whose
// instance dies under it. No answer may be a 5xx other than a 503 with
// Retry-After, and none may carry internal text.
func TestEdge(t *testing.T) {
	sys := MustStart(t, system.Options{Env: map[string]string{"CARROT_CORS_ORIGINS": "https://app.example"}})
	item := sys.MustRegister(t, seller, "lamp", 1000)
	rsv := sys.MustChat(t, buyer, item)
	sys.MustConfirm(t, seller, rsv, system.Day(7), "18:30", "Hapjeong station")
	pay := sys.MustPay(t, buyer, rsv)

	t.Run("bad input is a 400 naming the field and changes nothing", func(t *testing.T) {
		const eve = "eve" // every bad item is hers; none may exist afterwards
		valid := `"category":"lamps","price":500`
		for _, tc := range []struct {
			name, method, path, body, field string
		}{
			{"field name in another case", "POST", "/items", `{"name":"lamp","category":"lamps","Price":500}`, "Price"},
			{"every field in capitals", "POST", "/items", `{"NAME":"lamp","CATEGORY":"lamps","PRICE":500}`, "NAME"},
			{"a duplicated key", "POST", "/items", `{"name":"lamp","name":"sofa",` + valid + `}`, "name"},
			{"null for a number", "POST", "/items", `{"name":"lamp","category":"lamps","price":null}`, "price"},
			{"null for a text", "POST", "/items", `{"name":null,` + valid + `}`, "name"},
			{"an unknown field", "POST", "/items", `{"name":"lamp","colour":"red",` + valid + `}`, "colour"},
			{"NUL in a name", "POST", "/items", `{"name":"la\u0000mp",` + valid + `}`, "name"},
			{"BEL in a name", "POST", "/items", `{"name":"lamp\u0007",` + valid + `}`, "name"},
			{"ESC in a name", "POST", "/items", `{"name":"\u001b[31mlamp",` + valid + `}`, "name"},
			{"only zero-width spaces", "POST", "/items", `{"name":"\u200b\u200b\u200b",` + valid + `}`, "name"},
			{"a right-to-left override", "POST", "/items", `{"name":"lamp\u202egpj.exe",` + valid + `}`, "name"},
			{"a Hangul filler that prints blank", "POST", "/items", `{"name":"\u3164",` + valid + `}`, "name"},
			{"a price in another case on PATCH", "PATCH", "/items/" + item, `{"Price":1}`, "Price"},
			{"a meeting on 0000-01-01", "PATCH", "/reservations/" + rsv, `{"rsvStatus":"CONFIRMED","rsvDate":"0000-01-01","rsvTime":"18:30"}`, "rsvDate"},
			{"a meeting yesterday", "PATCH", "/reservations/" + rsv, `{"rsvStatus":"CONFIRMED","rsvDate":"` + system.Day(-1) + `","rsvTime":"18:30"}`, "rsvDate"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				user := eve
				if tc.method == "PATCH" {
					user = seller
				}
				res := sys.send(t, user, tc.method, tc.path, tc.body, nil)
				requireProblem(t, res, http.StatusBadRequest, tc.field)
			})
		}
		res := sys.MustDo(t, "", http.MethodGet, "/items?sellerId="+eve, nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res)
		assert.Empty(t, res.JSON(t)["items"], "no bad request listed an item")
		assert.EqualValues(t, 1000, sys.MustGetItem(t, item)["price"], "no bad PATCH changed the price")
		got := sys.MustDo(t, seller, http.MethodGet, "/reservations/"+rsv, nil).JSON(t)
		assert.Equal(t, system.Day(7), got["rsvDate"], "no bad confirmation moved the meeting")
	})

	t.Run("a user id that prints blank gets no token", func(t *testing.T) {
		res := sys.MustDo(t, "", http.MethodPost, "/auth/dev-token", map[string]any{"userId": "\u3164"})
		assert.Equal(t, http.StatusBadRequest, res.Status, "%s", res)
	})

	t.Run("an id of any size is a 404 or 400, never a 5xx", func(t *testing.T) {
		for _, size := range []int{65, 1025, 2049, 60_000} {
			id := strings.Repeat("a", size)
			for _, rt := range []struct{ method, path, body string }{
				{"GET", "/items/" + id, ""},
				{"PATCH", "/items/" + id, `{"name":"x"}`},
				{"DELETE", "/items/" + id, ""},
				{"POST", "/reservations", `{"itemId":"` + id + `"}`},
				{"GET", "/reservations/" + id, ""},
				{"PATCH", "/reservations/" + id, `{"rsvStatus":"CONFIRMED","rsvDate":"` + system.Day(7) + `","rsvTime":"18:30"}`},
				{"DELETE", "/reservations/" + id, ""},
				{"POST", "/reservations/" + id + "/messages", `{"text":"hi"}`},
				{"GET", "/reservations/" + id + "/messages", ""},
				{"POST", "/payments", `{"rsvId":"` + id + `"}`},
				{"GET", "/payments/" + id, ""},
				{"PATCH", "/payments/" + id, `{"status":"DELETED"}`},
				{"DELETE", "/payments/" + id, ""},
				{"POST", "/reviews", `{"rsvId":"` + id + `","score":5}`},
				{"GET", "/myPages/" + id, ""},
				{"GET", "/myPages?userId=" + id, ""},
				{"GET", "/items?sellerId=" + id, ""},
				{"GET", "/items/" + id + "/reviews", ""},
				{"GET", "/users/" + id, ""},
				{"GET", "/users/" + id + "/reviews", ""},
			} {
				res := sys.send(t, buyer, rt.method, rt.path, rt.body, nil)
				assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusRequestURITooLong, http.StatusOK},
					res.Status, "%s %s with an id of %d bytes: %s", rt.method, rt.path[:min(len(rt.path), 40)], size, res)
				assertNothingInternal(t, res)
			}
		}
	})

	t.Run("headers", func(t *testing.T) {
		authed := sys.send(t, buyer, "GET", "/payments/"+pay, "", nil)
		require.Equal(t, http.StatusOK, authed.Status, "%s", authed)
		assert.Equal(t, "no-store", authed.Header.Get("Cache-Control"), "an answer to an authenticated request is not cached")
		problem := sys.send(t, "carl", "GET", "/payments/"+pay, "", nil)
		assert.Equal(t, "no-store", problem.Header.Get("Cache-Control"), "nor is a refusal of one")
		public := sys.send(t, "", "GET", "/items/"+item, "", nil)
		for _, res := range []system.Response{authed, problem, public} {
			assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
			assert.NotEmpty(t, res.Header.Get("Content-Security-Policy"))
			assert.NotEmpty(t, res.Header.Get("Referrer-Policy"))
			assert.NotEmpty(t, res.Header.Get("X-Request-Id"))
		}
	})

	t.Run("HEAD wherever GET is served", func(t *testing.T) {
		for _, rt := range []struct{ user, path string }{
			{"", "/items"}, {"", "/items/" + item}, {buyer, "/reservations/" + rsv}, {buyer, "/reservations/" + rsv + "/messages"},
			{buyer, "/payments/" + pay}, {seller, "/myPages"}, {seller, "/myPages/" + item},
			{"", "/items/" + item + "/reviews"}, {"", "/users/" + seller}, {"", "/users/" + seller + "/reviews"},
		} {
			res := sys.send(t, rt.user, http.MethodHead, rt.path, "", nil)
			assert.Equal(t, http.StatusOK, res.Status, "HEAD %s: %s", rt.path, res)
			assert.Empty(t, res.Body, "HEAD %s has no body", rt.path)
		}
	})

	t.Run("CORS for the configured origins only", func(t *testing.T) {
		preflight := map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "PATCH",
			"Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}
		res := sys.send(t, "", http.MethodOptions, "/items/"+item, "", preflight)
		assert.Contains(t, []int{http.StatusOK, http.StatusNoContent}, res.Status, "%s", res)
		assert.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"))
		assert.Contains(t, strings.ToUpper(res.Header.Get("Access-Control-Allow-Methods")), "PATCH")
		assert.Contains(t, strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "idempotency-key")

		simple := sys.send(t, buyer, http.MethodGet, "/payments/"+pay, "", map[string]string{"Origin": "https://app.example"})
		assert.Equal(t, "https://app.example", simple.Header.Get("Access-Control-Allow-Origin"))

		preflight["Origin"] = "https://evil.example"
		res = sys.send(t, "", http.MethodOptions, "/items/"+item, "", preflight)
		assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "an origin not on the list is not allowed")
		simple = sys.send(t, buyer, http.MethodGet, "/payments/"+pay, "", map[string]string{"Origin": "https://evil.example"})
		assert.Empty(t, simple.Header.Get("Access-Control-Allow-Origin"))
	})

	t.Run("a deal is its participants' business", func(t *testing.T) {
		private := []string{"buyerId", "rsvDate", "rsvTime", "rsvPlace", "payId"}
		for _, viewer := range []string{seller, buyer, "carl"} {
			row := sys.EventuallyPage(t, viewer, item, map[string]any{"rsvStatus": "COMPLETED", "payStatus": "APPROVED"})
			for _, f := range private {
				if viewer == "carl" {
					assert.Nil(t, row[f], "a stranger does not see %s", f)
				} else {
					assert.NotNil(t, row[f], "%s sees %s", viewer, f)
				}
			}
		}
		res := sys.MustDo(t, "carl", http.MethodGet, "/myPages?limit=200", nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res)
		for _, row := range res.JSON(t)["items"].([]any) {
			for _, f := range private {
				assert.Nil(t, row.(map[string]any)[f], "a stranger's list shows no %s", f)
			}
		}
	})

	t.Run("malformed HTTP is a 4xx", func(t *testing.T) {
		for _, tc := range []struct {
			name, req string
			cut       bool // the client stops sending: the body ends short
		}{
			{"a broken chunk length", "POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", false},
			{"a truncated chunked body", "POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"na", true},
			{"both lengths", "POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
			{"a header flood", "GET /items HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Flood: "+strings.Repeat("a", 1000)+"\r\n", 2000) + "\r\n", false},
		} {
			status, body := rawHTTP(t, sys.Gateway, tc.req, tc.cut)
			assert.True(t, status >= 400 && status < 500, "%s: %d %s", tc.name, status, body)
			assert.NotRegexp(t, `127\.0\.0\.1|tcp|instance|chunk`, body, "%s", tc.name)
		}
	})

	t.Run("a function that dies mid-request is a 503 with Retry-After", func(t *testing.T) {
		warm := sys.send(t, "", "GET", "/items/"+item, "", nil)
		require.Equal(t, http.StatusOK, warm.Status)
		for _, in := range sys.MustStatus(t).Function("register-item").Instances {
			require.NoError(t, system.Signal(in.PID, syscall.SIGKILL))
		}
		res := sys.send(t, "", "GET", "/items/"+item, "", nil)
		if res.Status != http.StatusOK {
			assert.Equal(t, http.StatusServiceUnavailable, res.Status, "%s", res)
			assert.NotEmpty(t, res.Header.Get("Retry-After"))
		}
		assertNothingInternal(t, res)
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			assert.Equal(c, http.StatusOK, sys.send(t, "", "GET", "/items/"+item, "", nil).Status)
		}, settle, tick, "a new instance serves")
	})
}

// send sends body as it is (not encoded again) with headers, as user (""
// sends no token).
func (s *System) send(t *testing.T, user, method, path, body string, headers map[string]string) system.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.Gateway+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		tok, err := s.Token(t.Context(), user)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res := s.RoundTrip(req)
	require.NoError(t, res.Err, "%s %s", method, path)
	return res
}

// requireProblem requires a problem+json answer of status naming field.
func requireProblem(t *testing.T, res system.Response, status int, field string) {
	t.Helper()
	require.Equal(t, status, res.Status, "%s", res)
	assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	var p struct {
		Errors []struct{ Field string }
	}
	require.NoError(t, res.Decode(&p), "%s", res)
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Field)
	}
	assert.Contains(t, fields, field, "%s", res)
	assertNothingInternal(t, res)
}

// assertNothingInternal fails when an answer is a 5xx other than 503 with
// Retry-After, or carries addresses, ports, instance numbers or Go text.
func assertNothingInternal(t *testing.T, res system.Response) {
	t.Helper()
	if res.Status >= 500 {
		assert.Equal(t, http.StatusServiceUnavailable, res.Status, "%s", res)
		assert.NotEmpty(t, res.Header.Get("Retry-After"), "%s", res)
	}
	assert.NotRegexp(t, `127\.0\.0\.1|\btcp\b|instance \d|goroutine|panic|dynamodb|ValidationException`, string(res.Body))
}

// rawHTTP writes req to the gateway as bytes, for what net/http refuses to
// send, and returns the answer's status and body. With cut it then closes
// its side of the connection, as a client that stops half-way.
func rawHTTP(t *testing.T, gateway, req string, cut bool) (int, string) {
	t.Helper()
	u, err := url.Parse(gateway)
	require.NoError(t, err)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	_, _ = conn.Write([]byte(req)) // the server may close before it reads everything
	if cut {
		require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no answer")
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, string(body)
}
