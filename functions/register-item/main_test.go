package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot/boottest"
)

// The component tests of register-item call its own URL over HTTP, with
// the other functions running beside it so that an item can be reserved
// and sold through the real flow.

func TestPostItems(t *testing.T) {
	sys := boottest.NewSystem(t)
	post := func(t *testing.T, user string, body any, header ...string) boottest.Response {
		return sys.Do(t, sys.URL[registry.RegisterItem.Name], user, http.MethodPost, "/items", body, header...)
	}

	t.Run("registers an item on sale for the caller", func(t *testing.T) {
		t.Parallel()
		res := post(t, boottest.Seller, map[string]any{"name": "  TV  ", "category": "electronics", "price": 50000,
			"description": "42 inch", "region": "seoul/mapo", "photos": []string{"https://img.example/tv.jpg"}})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
		item := res.JSON(t)
		id, _ := item["itemId"].(string)
		require.NotEmpty(t, id)
		assert.Equal(t, "/items/"+id, res.Header.Get("Location"))
		assert.Equal(t, "TV", item["name"], "the name is stored trimmed")
		assert.Equal(t, boottest.Seller, item["sellerId"])
		assert.Equal(t, "CREATED", item["status"])
		assert.EqualValues(t, 50000, item["price"])
		assert.Equal(t, []any{"https://img.example/tv.jpg"}, item["photos"])
		assert.EqualValues(t, 0, item["score"])
		assert.EqualValues(t, 0, item["reviewCount"])
		assert.NotEmpty(t, item["createdAt"])

		got := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, res.Header.Get("Location"), nil)
		require.Equal(t, http.StatusOK, got.Status, "%s", got.Body)
		assert.Equal(t, item, got.JSON(t), "the Location answers the item as it was created")
	})

	t.Run("boundaries are allowed", func(t *testing.T) {
		t.Parallel()
		res := post(t, "bounds", map[string]any{"name": strings.Repeat("가", 100), "category": strings.Repeat("c", 50),
			"price": 1_000_000_000, "photos": photos(10)})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		res = post(t, "bounds", map[string]any{"name": "free chair", "category": "furniture", "price": 0})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		assert.Equal(t, []any{}, res.JSON(t)["photos"], "no photos is an empty list, not null")
	})

	t.Run("descriptions of long words are stored and found", func(t *testing.T) {
		t.Parallel()
		// Each was a 500: a word longer than a DynamoDB key may be (2,048
		// bytes) named a partition of the word index.
		for _, d := range []string{strings.Repeat("日本語の説明文です", 500), strings.Repeat("a", 5000), strings.Repeat("\uFB03", 5000)} {
			res := post(t, "long-words", map[string]any{"name": "long words", "category": "books", "price": 1000, "description": d})
			require.Equal(t, http.StatusCreated, res.Status, "%.20q: %s", d, res.Body)
		}
		assert.Len(t, listItems(t, sys, "sellerId=long-words&q=long"), 3)
	})

	valid := func(change map[string]any) map[string]any {
		m := map[string]any{"name": "TV", "category": "electronics", "price": 1000}
		for k, v := range change {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		body   any
		fields []string
	}{
		{"empty name", valid(map[string]any{"name": ""}), []string{"name"}},
		{"blank name", valid(map[string]any{"name": "   "}), []string{"name"}},
		{"missing name", valid(map[string]any{"name": nil}), []string{"name"}},
		{"name of 101 characters", valid(map[string]any{"name": strings.Repeat("가", 101)}), []string{"name"}},
		{"empty category", valid(map[string]any{"category": ""}), []string{"category"}},
		{"category of 51 characters", valid(map[string]any{"category": strings.Repeat("c", 51)}), []string{"category"}},
		{"negative price", valid(map[string]any{"price": -1}), []string{"price"}},
		{"price over a billion", valid(map[string]any{"price": 1_000_000_001}), []string{"price"}},
		{"price as a string", valid(map[string]any{"price": "1000"}), []string{"price"}},
		{"price with a fraction", valid(map[string]any{"price": 10.5}), []string{"price"}},
		{"description of 5001 characters", valid(map[string]any{"description": strings.Repeat("d", 5001)}), []string{"description"}},
		{"region of 101 characters", valid(map[string]any{"region": strings.Repeat("r", 101)}), []string{"region"}},
		{"region of 50 levels, a feed each (was a 500)", valid(map[string]any{"region": strings.Repeat("a/", 49) + "a"}), []string{"region"}},
		{"region with an empty level", valid(map[string]any{"region": "seoul//mapo"}), []string{"region"}},
		{"photo that is not a URL", valid(map[string]any{"photos": []string{"not a url"}}), []string{"photos"}},
		{"photo of another scheme", valid(map[string]any{"photos": []string{"ftp://img.example/a.jpg"}}), []string{"photos"}},
		{"eleven photos", valid(map[string]any{"photos": photos(11)}), []string{"photos"}},
		{"photos as a string", valid(map[string]any{"photos": "https://img.example/a.jpg"}), []string{"photos"}},
		{"unknown field", valid(map[string]any{"colour": "red"}), []string{"colour"}},
		{"status given", valid(map[string]any{"status": "SOLDOUT"}), []string{"status"}},
		{"every bad field at once", map[string]any{"name": "", "category": "", "price": -5}, []string{"name", "category", "price"}},
		{"name with NUL", valid(map[string]any{"name": "TV\x00"}), []string{"name"}},
		{"name with BEL", valid(map[string]any{"name": "TV\a"}), []string{"name"}},
		{"name with ESC", valid(map[string]any{"name": "\x1b[31mTV"}), []string{"name"}},
		{"name of zero-width spaces", valid(map[string]any{"name": "\u200b\u200b"}), []string{"name"}},
		{"name with a right-to-left override", valid(map[string]any{"name": "\u202eVT"}), []string{"name"}},
		{"name of the Hangul filler U3164", valid(map[string]any{"name": "\u3164"}), []string{"name"}},
		{"name of braille blanks", valid(map[string]any{"name": "\u2800\u2800"}), []string{"name"}},
		{"name over two lines", valid(map[string]any{"name": "TV\nradio"}), []string{"name"}},
		{"category with a zero-width space", valid(map[string]any{"category": "elec\u200btronics"}), []string{"category"}},
		{"description with NUL", valid(map[string]any{"description": "line\x00"}), []string{"description"}},
		{"region with a newline", valid(map[string]any{"region": "seoul\nmapo"}), []string{"region"}},
		{"photo with a control character", valid(map[string]any{"photos": []string{"https://img.example/a\x07.jpg"}}), []string{"photos"}},
		{"Price in another case", valid(map[string]any{"Price": 500}), []string{"Price"}},
		{"every name in capitals", map[string]any{"NAME": "TV", "CATEGORY": "electronics", "PRICE": 1000}, []string{"CATEGORY"}},
		{"price given twice", `{"name":"TV","category":"electronics","price":1000,"price":1}`, []string{"price"}},
		{"price null", `{"name":"TV","category":"electronics","price":null}`, []string{"price"}},
		{"name null", `{"name":null,"category":"electronics","price":1000}`, []string{"name"}},
	} {
		t.Run("400 for "+tc.name, func(t *testing.T) {
			t.Parallel()
			seller := "bad-" + strings.ReplaceAll(tc.name, " ", "-")
			res := post(t, seller, tc.body)
			res.RequireProblem(t, http.StatusBadRequest, tc.fields...)
			assert.Empty(t, listItems(t, sys, "sellerId="+seller), "a refused item is not stored")
		})
	}

	for _, tc := range []struct {
		name, body string
	}{
		{"malformed JSON", `{"name": "TV", "category": `},
		{"an empty body", ``},
		{"a JSON array", `[{"name": "TV"}]`},
		{"two JSON values", `{"name": "TV", "category": "a", "price": 1} {}`},
	} {
		t.Run("400 for "+tc.name, func(t *testing.T) {
			t.Parallel()
			post(t, boottest.Seller, tc.body).RequireProblem(t, http.StatusBadRequest)
		})
	}

	t.Run("415 for a body that is not JSON", func(t *testing.T) {
		t.Parallel()
		body := `{"name": "TV", "category": "electronics", "price": 1000}`
		post(t, boottest.Seller, body, "Content-Type", "text/plain").RequireProblem(t, http.StatusUnsupportedMediaType)
		post(t, boottest.Seller, body, "Content-Type", "application/x-www-form-urlencoded").RequireProblem(t, http.StatusUnsupportedMediaType)
	})

	t.Run("413 for a body over 64 KiB", func(t *testing.T) {
		t.Parallel()
		body := `{"name": "TV", "category": "electronics", "price": 1000, "description": "` + strings.Repeat("d", 64<<10) + `"}`
		post(t, "big", body).RequireProblem(t, http.StatusRequestEntityTooLarge)
		assert.Empty(t, listItems(t, sys, "sellerId=big"))
	})

	t.Run("a retry with the same Idempotency-Key registers once", func(t *testing.T) {
		t.Parallel()
		body := map[string]any{"name": "TV", "category": "electronics", "price": 1000}
		first := post(t, "idem", body, "Idempotency-Key", "item-1")
		require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
		again := post(t, "idem", body, "Idempotency-Key", "item-1")
		require.Equal(t, http.StatusCreated, again.Status, "%s", again.Body)
		assert.Equal(t, first.JSON(t), again.JSON(t), "the first answer again")
		assert.Equal(t, first.Header.Get("Location"), again.Header.Get("Location"))
		assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		assert.Len(t, listItems(t, sys, "sellerId=idem"), 1, "one item")

		other := post(t, "idem", map[string]any{"name": "radio", "category": "electronics", "price": 1000}, "Idempotency-Key", "item-1")
		other.RequireProblem(t, http.StatusUnprocessableEntity)
		require.Equal(t, http.StatusCreated, post(t, "idem", body, "Idempotency-Key", "item-2").Status, "another key is another request")
		assert.Len(t, listItems(t, sys, "sellerId=idem"), 2)
	})

	t.Run("401 without a valid token", func(t *testing.T) {
		t.Parallel()
		body := map[string]any{"name": "TV", "category": "electronics", "price": 1000}
		fresh := sys.TokenExpiring(t, "mallory", time.Now().Add(time.Hour))
		otherKey := []byte("another-secret-of-at-least-32-bytes!!")
		require.Equal(t, http.StatusCreated, post(t, "", body, "Authorization", "Bearer "+fresh).Status,
			"a token signed like the others below, but valid, is accepted")
		for name, header := range map[string]string{
			"no token":       "",
			"basic auth":     "Basic bWFsbG9yeTpwdw==",
			"garbage":        "Bearer not-a-jwt",
			"foreign key":    "Bearer " + boottest.SignToken(t, otherKey, "mallory", time.Now().Add(time.Hour)),
			"expired token":  "Bearer " + sys.TokenExpiring(t, "mallory", time.Now().Add(-time.Hour)),
			"tampered token": "Bearer " + forged(fresh, boottest.SignToken(t, otherKey, "admin", time.Now().Add(time.Hour))),
		} {
			res := post(t, "", body, "Authorization", header)
			res.RequireProblem(t, http.StatusUnauthorized)
			assert.Contains(t, res.Header.Get("WWW-Authenticate"), "Bearer", name)
		}
		assert.Len(t, listItems(t, sys, "sellerId=mallory"), 1, "only the accepted token registered an item")
	})
}

func TestGetItems(t *testing.T) {
	sys := boottest.NewSystem(t)
	lamp := sys.MustItem(t, "ann", map[string]any{"name": "Vintage Lamp", "category": "furniture", "price": 20000, "region": "seoul/mapo"})
	desk := sys.MustItem(t, "ann", map[string]any{"name": "Desk", "category": "furniture", "price": 50000, "description": "fits a LAMP too", "region": "seoul"})
	tv := sys.MustItem(t, "ann", map[string]any{"name": "TV", "category": "electronics", "price": 90000})
	radio := sys.MustItem(t, "ben", map[string]any{"name": "Radio", "category": "electronics", "price": 7000, "region": "busan"})
	book := sys.MustItem(t, "ben", map[string]any{"name": "Go book", "category": "books", "price": 0})
	sys.MustConfirm(t, "ann", sys.MustChat(t, "cat", tv), meeting()) // tv is RESERVED

	// Every listing answers newest first, the items on sale unless a
	// status is asked for.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{book, radio, desk, lamp}},
		{"status=CREATED", []string{book, radio, desk, lamp}},
		{"status=RESERVED", []string{tv}},
		{"status=SOLDOUT", nil},
		{"category=electronics", []string{radio}},
		{"category=electronics&status=RESERVED", []string{tv}},
		{"sellerId=ann", []string{desk, lamp}},
		{"sellerId=ann&status=RESERVED", []string{tv}},
		{"sellerId=nobody", nil},
		{"q=lamp", []string{desk, lamp}},
		{"q=LAMP", []string{desk, lamp}},
		{"q=vintage", []string{lamp}},
		{"sellerId=ann&category=furniture&q=desk", []string{desk}},
		{"status=CREATED&category=electronics", []string{radio}},
		{"region=seoul", []string{desk, lamp}},
		{"region=seoul/mapo", []string{lamp}},
		{"region=seoul&q=vintage", []string{lamp}},
		{"region=busan&sellerId=ben", []string{radio}},
		{"region=daegu", nil},
		{"minPrice=20000", []string{desk, lamp}},
		{"maxPrice=7000", []string{book, radio}},
		{"minPrice=7000&maxPrice=20000", []string{radio, lamp}},
		{"region=seoul&maxPrice=20000", []string{lamp}},
	} {
		t.Run("?"+tc.query, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, idsOf(listItems(t, sys, tc.query)))
		})
	}
	for _, q := range []string{"minPrice=-1", "minPrice=abc", "maxPrice=1.5", "maxPrice=1000000001"} {
		t.Run("400 for "+q, func(t *testing.T) {
			t.Parallel()
			res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items?"+q, nil)
			res.RequireProblem(t, http.StatusBadRequest, strings.SplitN(q, "=", 2)[0])
		})
	}

	t.Run("answers whole items to anyone", func(t *testing.T) {
		t.Parallel()
		items := listItems(t, sys, "sellerId=ben&category=books")
		require.Len(t, items, 1)
		assert.Equal(t, "Go book", items[0]["name"])
		assert.Equal(t, "ben", items[0]["sellerId"])
		assert.Equal(t, "CREATED", items[0]["status"])
		assert.EqualValues(t, 0, items[0]["price"])
	})

	t.Run("pages with limit and cursor", func(t *testing.T) {
		t.Parallel()
		for _, filter := range []string{"", "sellerId=ann&", "category=furniture&", "region=seoul&"} {
			all := idsOf(listItems(t, sys, filter))
			require.NotEmpty(t, all)
			var seen []string
			cursor, pages := "", 0
			for {
				res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items?"+filter+"limit=2&cursor="+url.QueryEscape(cursor), nil)
				require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
				page := res.JSON(t)
				items := page["items"].([]any)
				assert.LessOrEqual(t, len(items), 2, filter)
				for _, it := range items {
					seen = append(seen, it.(map[string]any)["itemId"].(string))
				}
				pages++
				require.Less(t, pages, 10, "the cursor must end the listing")
				next, _ := page["nextCursor"].(string)
				if next == "" {
					break
				}
				assert.Len(t, items, 2, "only the last page may be short")
				cursor = next
			}
			assert.ElementsMatch(t, all, seen, "paging %q yields every item exactly once", filter)
			assert.GreaterOrEqual(t, pages, (len(all)+1)/2)
		}
	})

	for _, q := range []string{"limit=0", "limit=201", "limit=abc", "limit=-1", "limit=1.5"} {
		t.Run("400 for "+q, func(t *testing.T) {
			t.Parallel()
			res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items?"+q, nil)
			res.RequireProblem(t, http.StatusBadRequest, "limit")
		})
	}
	t.Run("limit 200 is allowed", func(t *testing.T) {
		t.Parallel()
		res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items?limit=200", nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		assert.Len(t, res.JSON(t)["items"], 4, "every item on sale")
	})
	t.Run("400 for a cursor that is not one", func(t *testing.T) {
		t.Parallel()
		oversized := base64.RawURLEncoding.EncodeToString([]byte(`{"itemId":"` + strings.Repeat("x", 3000) + `"}`))
		for _, q := range []string{"cursor=garbage", "sellerId=ben&cursor=" + firstCursor(t, sys, "sellerId=ann&limit=1"), "cursor=" + oversized} {
			res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items?"+q, nil)
			res.RequireProblem(t, http.StatusBadRequest, "cursor")
		}
	})
	t.Run("400 for an unknown status", func(t *testing.T) {
		t.Parallel()
		res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items?status=DELETED", nil)
		res.RequireProblem(t, http.StatusBadRequest, "status")
	})
	t.Run("400 for a sellerId that is no user id", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{strings.Repeat("u", 3000), "\u3164", "ann\x00", "\u202eann"} {
			res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items?sellerId="+url.QueryEscape(id), nil)
			res.RequireProblem(t, http.StatusBadRequest, "sellerId")
		}
	})
	t.Run("400 for a filter longer than any item's field", func(t *testing.T) {
		t.Parallel()
		for field, max := range map[string]int{"q": 100, "category": 50, "region": 100} {
			assert.Empty(t, listItems(t, sys, field+"="+strings.Repeat("가", max)), "%s at its limit", field)
			for _, n := range []int{max + 1, 20000} {
				res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items?"+field+"="+strings.Repeat("가", n), nil)
				res.RequireProblem(t, http.StatusBadRequest, field)
			}
		}
	})
	t.Run("a search of at most 10 words is answered, one of more is 400", func(t *testing.T) {
		t.Parallel()
		// Each was a 500 before words were counted once and at most 10:
		// DynamoDB refused the filter of a hundred words.
		for _, q := range []string{strings.Repeat("a1", 50), strings.Repeat("\uFDFA", 100), "a b c d e f g h i j"} {
			res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items?q="+url.QueryEscape(q), nil)
			require.Equal(t, http.StatusOK, res.Status, "%.20q: %s", q, res.Body)
		}
		for _, q := range []string{"a b c d e f g h i j k", "a1b2c3d4e5f6"} {
			res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items?q="+url.QueryEscape(q), nil)
			res.RequireProblem(t, http.StatusBadRequest, "q")
		}
	})
}

func TestGetItem(t *testing.T) {
	sys := boottest.NewSystem(t)
	id := sys.MustItem(t, boottest.Seller, map[string]any{"name": "TV", "category": "electronics", "price": 1000})

	res := sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items/"+id, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, id, res.JSON(t)["itemId"])
	assert.Equal(t, boottest.Seller, res.JSON(t)["sellerId"])

	for _, unknown := range []string{"no-such-item", "12345", strings.Repeat("1", 2049), "item%201", "%E3%85%A4"} {
		res = sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items/"+unknown, nil)
		res.RequireProblem(t, http.StatusNotFound)
	}

	res = sys.Do(t, sys.URL[registry.RegisterItem.Name], boottest.Seller, http.MethodPut, "/items/"+id, map[string]any{"name": "TV"})
	res.RequireProblem(t, http.StatusMethodNotAllowed)
	assert.NotEmpty(t, res.Header.Get("Allow"))
	res = sys.Do(t, sys.URL[registry.RegisterItem.Name], boottest.Buyer, http.MethodPost, "/reservations", map[string]any{"itemId": id})
	res.RequireProblem(t, http.StatusNotFound) // register-item serves only its own routes
}

func TestPatchItem(t *testing.T) {
	sys := boottest.NewSystem(t)
	patch := func(t *testing.T, user, id string, body any) boottest.Response {
		return sys.Do(t, sys.URL[registry.RegisterItem.Name], user, http.MethodPatch, "/items/"+id, body)
	}
	newItem := func(t *testing.T) string {
		return sys.MustItem(t, boottest.Seller, map[string]any{"name": "TV", "category": "electronics", "price": 1000, "region": "seoul/mapo"})
	}

	t.Run("the seller changes what the patch sets", func(t *testing.T) {
		t.Parallel()
		id := newItem(t)
		res := patch(t, boottest.Seller, id, map[string]any{"price": 800, "description": "slightly used"})
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		item := res.JSON(t)
		assert.EqualValues(t, 800, item["price"])
		assert.Equal(t, "slightly used", item["description"])
		assert.Equal(t, "TV", item["name"], "fields the patch leaves out keep their value")
		assert.Equal(t, "seoul/mapo", item["region"])
		assert.Equal(t, "CREATED", item["status"])
		got := sys.MustGetItem(t, id)
		assert.Equal(t, item, got, "the change is stored")
	})

	t.Run("403 for anyone but the seller", func(t *testing.T) {
		t.Parallel()
		id := newItem(t)
		patch(t, "mallory", id, map[string]any{"price": 1}).RequireProblem(t, http.StatusForbidden)
		got := sys.MustGetItem(t, id)
		assert.EqualValues(t, 1000, got["price"], "the item is unchanged")
	})

	t.Run("404 for an unknown item", func(t *testing.T) {
		t.Parallel()
		patch(t, boottest.Seller, "no-such-item", map[string]any{"price": 1}).RequireProblem(t, http.StatusNotFound)
		patch(t, boottest.Seller, strings.Repeat("1", 2049), map[string]any{"price": 1}).RequireProblem(t, http.StatusNotFound)
	})

	t.Run("401 without a token", func(t *testing.T) {
		t.Parallel()
		patch(t, "", newItem(t), map[string]any{"price": 1}).RequireProblem(t, http.StatusUnauthorized)
	})

	for _, tc := range []struct {
		name   string
		body   any
		fields []string
	}{
		{"empty name", map[string]any{"name": ""}, []string{"name"}},
		{"negative price", map[string]any{"price": -1}, []string{"price"}},
		{"price as a string", map[string]any{"price": "free"}, []string{"price"}},
		{"eleven photos", map[string]any{"photos": photos(11)}, []string{"photos"}},
		{"unknown field", map[string]any{"itemId": "other"}, []string{"itemId"}},
		{"status", map[string]any{"status": "SOLDOUT"}, []string{"status"}},
		{"status unchanged", map[string]any{"status": "CREATED"}, []string{"status"}},
		{"name null", `{"name":null}`, []string{"name"}},
		{"description null", `{"description":null}`, []string{"description"}},
		{"Price in another case", map[string]any{"Price": 1}, []string{"Price"}},
		{"price given twice", `{"price":1,"price":2}`, []string{"price"}},
		{"name of the Hangul filler U3164", map[string]any{"name": "\u3164"}, []string{"name"}},
		{"description with ESC", map[string]any{"description": "\x1b]0;pwned\x07"}, []string{"description"}},
	} {
		t.Run("400 for "+tc.name, func(t *testing.T) {
			t.Parallel()
			id := newItem(t)
			patch(t, boottest.Seller, id, tc.body).RequireProblem(t, http.StatusBadRequest, tc.fields...)
			got := sys.MustGetItem(t, id)
			assert.Equal(t, "TV", got["name"])
			assert.EqualValues(t, 1000, got["price"])
			assert.Equal(t, "CREATED", got["status"])
		})
	}
}

func TestDeleteItem(t *testing.T) {
	sys := boottest.NewSystem(t)
	del := func(t *testing.T, user, id string) boottest.Response {
		return sys.Do(t, sys.URL[registry.RegisterItem.Name], user, http.MethodDelete, "/items/"+id, nil)
	}
	newItem := func(t *testing.T) string {
		return sys.MustItem(t, boottest.Seller, map[string]any{"name": "TV", "category": "electronics", "price": 1000})
	}
	status := func(t *testing.T, id string) string {
		return sys.MustGetItem(t, id)["status"].(string)
	}
	confirmed := func(t *testing.T, id string) string {
		rsvID := sys.MustChat(t, boottest.Buyer, id)
		sys.MustConfirm(t, boottest.Seller, rsvID, meeting())
		return rsvID
	}

	t.Run("the seller deletes an item on sale", func(t *testing.T) {
		t.Parallel()
		id := newItem(t)
		res := del(t, boottest.Seller, id)
		require.Equal(t, http.StatusNoContent, res.Status, "%s", res.Body)
		assert.Empty(t, res.Body)
		sys.Do(t, sys.URL[registry.RegisterItem.Name], "", http.MethodGet, "/items/"+id, nil).RequireProblem(t, http.StatusNotFound)
		del(t, boottest.Seller, id).RequireProblem(t, http.StatusNotFound) // deleting again finds nothing
	})

	t.Run("an item with open chats that is not reserved can go", func(t *testing.T) {
		t.Parallel()
		id := newItem(t)
		sys.MustChat(t, boottest.Buyer, id)
		require.Equal(t, http.StatusNoContent, del(t, boottest.Seller, id).Status)
	})

	t.Run("403 for anyone but the seller", func(t *testing.T) {
		t.Parallel()
		id := newItem(t)
		del(t, "mallory", id).RequireProblem(t, http.StatusForbidden)
		assert.Equal(t, "CREATED", status(t, id), "the item is still there")
	})

	t.Run("404 for an unknown item", func(t *testing.T) {
		t.Parallel()
		del(t, boottest.Seller, "no-such-item").RequireProblem(t, http.StatusNotFound)
		del(t, boottest.Seller, strings.Repeat("1", 2049)).RequireProblem(t, http.StatusNotFound)
	})

	t.Run("401 without a token", func(t *testing.T) {
		t.Parallel()
		id := newItem(t)
		del(t, "", id).RequireProblem(t, http.StatusUnauthorized)
		assert.Equal(t, "CREATED", status(t, id))
	})

	for _, tc := range []struct {
		name, status string
		paid         bool
	}{
		{"409 while RESERVED", "RESERVED", false},
		{"409 while SOLDOUT (seed rule 10)", "SOLDOUT", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := newItem(t)
			rsvID := confirmed(t, id)
			if tc.paid {
				sys.MustPay(t, boottest.Buyer, rsvID)
			}
			require.Equal(t, tc.status, status(t, id))
			del(t, boottest.Seller, id).RequireProblem(t, http.StatusConflict)
			assert.Equal(t, tc.status, status(t, id), "the item is still there")
		})
	}

	t.Run("an item released by its reservation can go again", func(t *testing.T) {
		t.Parallel()
		id := newItem(t)
		rsvID := confirmed(t, id)
		sys.MustCall(t, registry.ConfirmReservation.Name, boottest.Buyer, http.MethodDelete, "/reservations/"+rsvID, nil, http.StatusNoContent)
		require.Equal(t, "CREATED", status(t, id))
		assert.Equal(t, http.StatusNoContent, del(t, boottest.Seller, id).Status)
	})
}

// listItems reads one page of GET /items?query of up to 200 items.
func listItems(t *testing.T, sys *boottest.System, query string) []map[string]any {
	t.Helper()
	page := sys.MustCall(t, registry.RegisterItem.Name, "", http.MethodGet, "/items?limit=200&"+query, nil, http.StatusOK)
	require.Empty(t, page["nextCursor"], "the listing fits one page")
	var out []map[string]any
	for _, it := range page["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func firstCursor(t *testing.T, sys *boottest.System, query string) string {
	t.Helper()
	next, _ := sys.MustCall(t, registry.RegisterItem.Name, "", http.MethodGet, "/items?"+query, nil, http.StatusOK)["nextCursor"].(string)
	require.NotEmpty(t, next)
	return next
}

func idsOf(items []map[string]any) []string {
	var ids []string
	for _, it := range items {
		ids = append(ids, it["itemId"].(string))
	}
	return ids
}

func photos(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "https://img.example/" + strings.Repeat("p", i+1) + ".jpg"
	}
	return out
}

func meeting() map[string]any {
	return boottest.Meeting(boottest.Day(7), "18:30", "Hapjeong station")
}

// forged returns token with the claims of other and its own signature.
func forged(token, other string) string {
	a, b := strings.Split(token, "."), strings.Split(other, ".")
	return a[0] + "." + b[1] + "." + a[2]
}
