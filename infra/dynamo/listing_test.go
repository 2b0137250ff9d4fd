package dynamo_test

import (
	"context"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
)

// pageAll reads a listing page by page and returns every page's size.
func pageAll[T any](t *testing.T, limit int, list func(app.Page) ([]T, string, error)) ([]T, []int) {
	t.Helper()
	var all []T
	var sizes []int
	p := app.Page{Limit: limit}
	for range 100 {
		got, next, err := list(p)
		require.NoError(t, err)
		all = append(all, got...)
		sizes = append(sizes, len(got))
		if next == "" {
			return all, sizes
		}
		p.Cursor = next
	}
	t.Fatal("the listing never ended")
	return nil, nil
}

func itemIDs(items []*market.Item) []string { return ids(items, (*market.Item).ID) }

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}

func TestItemListings(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()

	// Seller "alice" lists 7 items, "bob" 3; some are reserved, some are
	// books, a few mention a bicycle in mixed case or in Korean.
	type spec struct {
		seller, name, category, description string
		status                              market.ItemStatus
	}
	specs := []spec{
		{"alice", "Red BICYCLE", "sports", "", market.ItemCreated},
		{"alice", "Go book", "books", "about gophers", market.ItemCreated},
		{"alice", "lamp", "home", "like new, no bicycle", market.ItemReserved},
		{"alice", "Dune", "books", "", market.ItemReserved},
		{"alice", "chair", "home", "", market.ItemCreated},
		{"alice", "자전거", "sports", "접이식 자전거", market.ItemCreated},
		{"alice", "table", "home", "", market.ItemSoldOut},
		{"bob", "bicycle bell", "sports", "", market.ItemCreated},
		{"bob", "SICP", "books", "", market.ItemCreated},
		{"bob", "sofa", "home", "", market.ItemCreated},
	}
	byName := map[string]string{}
	var ops []app.Op
	for _, sp := range specs {
		st := newItem(uid(), sp.seller, market.ItemDetails{Name: sp.name, Category: sp.category, Description: sp.description}).State()
		st.Status = sp.status
		byName[sp.name] = st.ID
		ops = append(ops, app.SaveItem{Item: market.RestoreItem(st)})
	}
	mustCommit(t, s, ops...)
	names := func(ns ...string) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = byName[n]
		}
		return sorted(out)
	}

	cases := []struct {
		name   string
		filter app.ItemFilter
		want   []string
	}{
		{"everything", app.ItemFilter{}, sorted(mapValues(byName))},
		{"status", app.ItemFilter{Status: market.ItemReserved}, names("lamp", "Dune")},
		{"category", app.ItemFilter{Category: "books"}, names("Go book", "Dune", "SICP")},
		{"query ignores case and searches descriptions", app.ItemFilter{Query: "BiCyCle"}, names("Red BICYCLE", "lamp", "bicycle bell")},
		{"query in Korean", app.ItemFilter{Query: "자전거"}, names("자전거")},
		{"seller", app.ItemFilter{SellerID: "bob"}, names("bicycle bell", "SICP", "sofa")},
		{"seller and category", app.ItemFilter{SellerID: "alice", Category: "home"}, names("lamp", "chair", "table")},
		{"seller, status and query", app.ItemFilter{SellerID: "alice", Status: market.ItemCreated, Query: "bicycle"}, names("Red BICYCLE")},
		{"status and category", app.ItemFilter{Status: market.ItemCreated, Category: "home"}, names("chair", "sofa")},
		{"nothing matches", app.ItemFilter{Query: "piano"}, nil},
		{"unknown seller", app.ItemFilter{SellerID: "carol"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, limit := range []int{0, 1, 2, 3} {
				got, sizes := pageAll(t, limit, func(p app.Page) ([]*market.Item, string, error) {
					return s.Items(ctx, c.filter, p)
				})
				assert.Equal(t, c.want, sorted(itemIDs(got)), "limit %d", limit)
				for _, n := range sizes {
					if limit > 0 {
						assert.LessOrEqual(t, n, limit)
					}
				}
			}
		})
	}

	t.Run("seller listing is in item id order", func(t *testing.T) {
		got, _, err := s.Items(ctx, app.ItemFilter{SellerID: "alice"}, app.Page{})
		require.NoError(t, err)
		assert.Equal(t, sorted(itemIDs(got)), itemIDs(got))
	})
	t.Run("full pages until the end", func(t *testing.T) {
		_, sizes := pageAll(t, 3, func(p app.Page) ([]*market.Item, string, error) {
			return s.Items(ctx, app.ItemFilter{}, p)
		})
		assert.Equal(t, []int{3, 3, 3, 1}, sizes)
	})
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestPageLimits(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()
	var ops []app.Op
	for range 60 {
		ops = append(ops, app.SaveItem{Item: newItem(uid(), "seller", market.ItemDetails{})})
	}
	mustCommit(t, s, ops[:30]...)
	mustCommit(t, s, ops[30:]...)

	got, next, err := s.Items(ctx, app.ItemFilter{}, app.Page{})
	require.NoError(t, err)
	assert.Len(t, got, app.DefaultPageLimit)
	assert.NotEmpty(t, next)

	got, next, err = s.Items(ctx, app.ItemFilter{}, app.Page{Limit: 1000})
	require.NoError(t, err, "a limit above the maximum is clamped")
	assert.Len(t, got, 60)
	assert.Empty(t, next)

	_, _, err = s.Items(ctx, app.ItemFilter{}, app.Page{Limit: -1})
	requireCode(t, market.Invalid, err)
	assert.Equal(t, []string{"limit"}, fieldsOf(err))
}

func TestBadCursors(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()
	var ops []app.Op
	for _, seller := range []string{"alice", "alice", "alice", "bob", "bob"} {
		ops = append(ops, app.SaveItem{Item: newItem(uid(), seller, market.ItemDetails{})})
	}
	mustCommit(t, s, ops...)
	_, scanCursor, err := s.Items(ctx, app.ItemFilter{}, app.Page{Limit: 1})
	require.NoError(t, err)
	_, aliceCursor, err := s.Items(ctx, app.ItemFilter{SellerID: "alice"}, app.Page{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, scanCursor)
	require.NotEmpty(t, aliceCursor)

	lists := map[string]func(cursor string) error{
		"items": func(c string) error {
			_, _, err := s.Items(ctx, app.ItemFilter{}, app.Page{Cursor: c})
			return err
		},
		"items of bob": func(c string) error {
			_, _, err := s.Items(ctx, app.ItemFilter{SellerID: "bob"}, app.Page{Cursor: c})
			return err
		},
		"messages": func(c string) error { _, _, err := s.Messages(ctx, "rsv", app.Page{Cursor: c}); return err },
		"rows":     func(c string) error { _, _, err := s.Rows(ctx, app.Page{Cursor: c}); return err },
		"rows of a seller": func(c string) error {
			_, _, err := s.RowsBySeller(ctx, "bob", app.Page{Cursor: c})
			return err
		},
		"deals of a buyer": func(c string) error {
			_, _, err := s.DealsByBuyer(ctx, "bob", app.Page{Cursor: c})
			return err
		},
	}
	cursors := map[string]string{
		"not base64":         "%%%",
		"not JSON":           "bm90IGpzb24",
		"JSON of no object":  "WzEsMiwzXQ",
		"empty object":       "e30",
		"another partition":  aliceCursor,
		"other key attrs":    "eyJmb28iOiJiYXIifQ", // {"foo":"bar"}
		"empty key value":    "eyJpdGVtSWQiOiIifQ", // {"itemId":""}
		"padded base64 junk": "eyJpdGVtSWQiOiJ4In0=",
	}
	for lname, list := range lists {
		for cname, cursor := range cursors {
			if lname == "items" && cname == "another partition" {
				continue // a scan has no partition to belong to
			}
			t.Run(lname+"/"+cname, func(t *testing.T) {
				t.Parallel()
				err := list(cursor)
				requireCode(t, market.Invalid, err)
				assert.Equal(t, []string{"cursor"}, fieldsOf(err))
			})
		}
	}
	t.Run("a good cursor works", func(t *testing.T) {
		require.NoError(t, lists["items"](scanCursor))
	})
}

func TestMessagePaging(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()
	r := newReservation(uid(), "item", "buyer", "seller")
	var want []string
	var ops []app.Op
	for range 7 {
		m, err := r.PostMessage(uid(), "buyer", "hi", now())
		require.NoError(t, err)
		want = append(want, m.ID)
		ops = append(ops, app.SaveMessage{Message: m})
	}
	mustCommit(t, s, ops...)
	// Another chat's messages never leak in.
	other, err := newReservation(uid(), "item", "buyer", "seller").PostMessage(uid(), "buyer", "elsewhere", now())
	require.NoError(t, err)
	mustCommit(t, s, app.SaveMessage{Message: other})

	got, sizes := pageAll(t, 3, func(p app.Page) ([]market.Message, string, error) { return s.Messages(ctx, r.ID(), p) })
	assert.Equal(t, want, ids(got, func(m market.Message) string { return m.ID }))
	assert.Equal(t, []int{3, 3, 1}, sizes)
}

func TestViews(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()

	var ops []app.Op
	rowsBy := map[string][]string{}
	for i, seller := range []string{"alice", "alice", "alice", "alice", "bob"} {
		row := &app.PageRow{ItemID: uid(), ItemName: "item", ItemStatus: "CREATED", SellerID: seller, UpdatedAt: now()}
		rowsBy[seller] = append(rowsBy[seller], row.ItemID)
		ops = append(ops, app.SaveRow{Row: row})
		for j, buyer := range []string{"carol", "dave"} {
			if (i+j)%2 == 0 {
				d := &app.PageDeal{RsvID: uid(), ItemID: row.ItemID, BuyerID: buyer, SellerID: seller, RsvStatus: "CREATED", UpdatedAt: now()}
				rowsBy["deals:"+buyer] = append(rowsBy["deals:"+buyer], d.RsvID)
				rowsBy["item:"+row.ItemID] = append(rowsBy["item:"+row.ItemID], d.RsvID)
				ops = append(ops, app.SaveDeal{Deal: d})
			}
		}
	}
	mustCommit(t, s, ops...)

	rows, _ := pageAll(t, 2, func(p app.Page) ([]app.PageRow, string, error) { return s.Rows(ctx, p) })
	assert.Equal(t, sorted(append(rowsBy["alice"], rowsBy["bob"]...)), sorted(ids(rows, rowID)))

	alice, sizes := pageAll(t, 3, func(p app.Page) ([]app.PageRow, string, error) { return s.RowsBySeller(ctx, "alice", p) })
	assert.Equal(t, sorted(rowsBy["alice"]), ids(alice, rowID), "in item id order")
	assert.Equal(t, []int{3, 1}, sizes)

	for _, buyer := range []string{"carol", "dave"} {
		deals, _ := pageAll(t, 2, func(p app.Page) ([]app.PageDeal, string, error) { return s.DealsByBuyer(ctx, buyer, p) })
		assert.Equal(t, sorted(rowsBy["deals:"+buyer]), sorted(ids(deals, dealID)), buyer)
		for _, d := range deals {
			assert.Equal(t, buyer, d.BuyerID)
		}
	}
	for _, itemID := range rowsBy["alice"] {
		deals, err := s.Deals(ctx, itemID)
		require.NoError(t, err)
		assert.Equal(t, sorted(rowsBy["item:"+itemID]), ids(deals, dealID))
	}

	// A deleted row leaves every listing.
	gone, err := s.Row(ctx, rowsBy["bob"][0])
	require.NoError(t, err)
	mustCommit(t, s, app.DeleteRow{Row: gone})
	rows, _ = pageAll(t, 0, func(p app.Page) ([]app.PageRow, string, error) { return s.Rows(ctx, p) })
	assert.NotContains(t, ids(rows, rowID), gone.ItemID)
	_, err = s.Row(ctx, gone.ItemID)
	requireCode(t, market.NotFound, err)
}

func rowID(r app.PageRow) string   { return r.ItemID }
func dealID(d app.PageDeal) string { return d.RsvID }

// A store with no tables fails while wiring would; a request against it is
// Internal and says nothing of the SDK.
func TestMissingTablesAreInternal(t *testing.T) {
	t.Parallel()
	s := dynamo.New(dynamotest.MustClient(t), dynamotest.RandomPrefix())
	_, err := s.Item(context.Background(), "x")
	requireCode(t, market.Internal, err)
	assert.NotContains(t, err.Error(), "ResourceNotFound")
	err = s.Commit(context.Background(), app.Claim{Key: "k", Owner: "o"})
	requireCode(t, market.Internal, err)
}
