package apptest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// listing is one listing of either port, reduced to the ids it answers,
// with the ids it must answer. Item feeds and MyPage's rows answer newest
// first and messages in posting order, in every adapter; the others are
// compared as sets.
//
// Listings by seller and by buyer read indexes that DynamoDB keeps
// eventually consistent; DynamoDB Local updates them at once, so the
// suite reads them right after writing, as the adapters' old tests did.
type listing struct {
	name    string
	list    func(p app.Page) ([]string, string, error)
	want    []string
	ordered bool
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func listed[T any](id func(T) string, list func(app.Page) ([]T, string, error)) func(app.Page) ([]string, string, error) {
	return func(p app.Page) ([]string, string, error) {
		xs, next, err := list(p)
		return ids(xs, id), next, err
	}
}

func itemID(it *market.Item) string     { return it.ID() }
func messageID(m market.Message) string { return m.ID }
func rowItemID(r app.PageRow) string    { return r.ItemID }
func dealRsvID(d app.PageDeal) string   { return d.RsvID }

func (s Stores) items(f app.ItemFilter) func(app.Page) ([]string, string, error) {
	return listed(itemID, func(p app.Page) ([]*market.Item, string, error) { return s.Store.Items(ctx, f, p) })
}

func (s Stores) messages(rsvID string) func(app.Page) ([]string, string, error) {
	return listed(messageID, func(p app.Page) ([]market.Message, string, error) { return s.Store.Messages(ctx, rsvID, p) })
}

func (s Stores) rowsBySeller(sellerID string) func(app.Page) ([]string, string, error) {
	return listed(rowItemID, func(p app.Page) ([]app.PageRow, string, error) { return s.Views.RowsBySeller(ctx, sellerID, p) })
}

func (s Stores) dealsByBuyer(buyerID string) func(app.Page) ([]string, string, error) {
	return listed(dealRsvID, func(p app.Page) ([]app.PageDeal, string, error) { return s.Views.DealsByBuyer(ctx, buyerID, p) })
}

// pageAll reads a listing page by page at limit, checks every page's
// size, and returns every id it answered.
func pageAll(t *testing.T, limit int, list func(app.Page) ([]string, string, error)) []string {
	t.Helper()
	var all []string
	p := app.Page{Limit: limit}
	for range 1000 {
		got, next, err := list(p)
		require.NoError(t, err)
		all = append(all, got...)
		max := limit
		if limit == 0 {
			max = app.DefaultPageLimit
		}
		assert.LessOrEqual(t, len(got), max, "page size at limit %d", limit)
		if next == "" {
			return all
		}
		p.Cursor = next
	}
	t.Fatal("the listing never ended")
	return nil
}

// itemSpec is an item a listing test saves.
type itemSpec struct {
	seller, name, category, description string
	status                              market.ItemStatus
	region                              string
	price                               int64
}

// saveItems saves an item for each spec, each created a second after the
// one before, and returns a function that lists them by name (named in
// the order a feed answers, newest first).
func saveItems(t *testing.T, s Stores, specs []itemSpec) func(names ...string) []string {
	byName := map[string]string{}
	first := now().Add(-time.Hour)
	mustWrite(t, s, func(tx app.Tx) {
		for i, sp := range specs {
			d := market.ItemDetails{Name: sp.name, Category: sp.category, Description: sp.description, Region: sp.region, Price: sp.price}
			st := newItem(uid(), sp.seller, d).State()
			st.Status, st.CreatedAt = sp.status, first.Add(time.Duration(i)*time.Second)
			byName[sp.name] = st.ID
			tx.SaveItem(market.RestoreItem(st))
		}
	})
	return func(names ...string) []string {
		out := []string{}
		for _, n := range names {
			out = append(out, byName[n])
		}
		return out
	}
}

// testListings fills a store of its own and reads every listing with
// every filter.
func testListings(t *testing.T, s Stores) {
	// Seller "alice" lists 7 items, "bob" 3, one a second after another;
	// some are reserved, some are books, a few mention a bicycle in mixed
	// case or in Korean; they are spread over regions and sub-regions.
	named := saveItems(t, s, []itemSpec{
		{"alice", "Red BICYCLE", "sports", "", market.ItemCreated, "seoul/mapo", 120_000},
		{"alice", "Go book", "books", "about gophers", market.ItemCreated, "seoul/gangnam", 15_000},
		{"alice", "lamp", "home", "like new, no bicycle", market.ItemReserved, "seoul/mapo", 30_000},
		{"alice", "Dune", "books", "", market.ItemReserved, "busan", 8_000},
		{"alice", "chair", "home", "", market.ItemCreated, "seoul", 40_000},
		{"alice", "자전거", "sports", "접이식 자전거", market.ItemCreated, "busan/haeundae", 90_000},
		{"alice", "table", "home", "", market.ItemSoldOut, "seoul/mapo", 50_000},
		{"bob", "bicycle bell", "sports", "", market.ItemCreated, "seoulite", 5_000},
		{"bob", "SICP", "books", "", market.ItemCreated, "seoul/mapo", 20_000},
		{"bob", "sofa", "home", "", market.ItemCreated, "", 0},
	})

	// Two chats, one of 7 messages in posting order, one of 1.
	chat, other := newReservation(uid(), "item"), newReservation(uid(), "item")
	var chatIDs []string
	var msgs []market.Message
	for i := range 8 {
		r := chat
		if i == 3 {
			r = other
		}
		m, err := r.PostMessage(uid(), "buyer", "hi", now())
		require.NoError(t, err)
		msgs = append(msgs, m)
		if r == chat {
			chatIDs = append(chatIDs, m.ID)
		}
	}
	for i := len(msgs) - 1; i >= 0; i-- { // the ids, not the commits, order a chat
		mustWrite(t, s, func(tx app.Tx) { tx.AddMessage(msgs[i]) })
	}

	// Rows of 4 items of alice's and 1 of bob's; carol and dave hold deals
	// on some of them.
	want := map[string][]string{}
	mustWriteView(t, s, func(tx app.ViewTx) {
		for i, seller := range []string{"alice", "alice", "alice", "alice", "bob"} {
			row := &app.PageRow{ItemID: uid(), ItemName: "item", ItemStatus: "CREATED", SellerID: seller, UpdatedAt: now()}
			want["rows"] = append([]string{row.ItemID}, want["rows"]...) // newest first
			want["rows of "+seller] = append(want["rows of "+seller], row.ItemID)
			tx.SaveRow(row)
			for j, buyer := range []string{"carol", "dave"} {
				if (i+j)%2 == 0 {
					d := &app.PageDeal{RsvID: uid(), ItemID: row.ItemID, BuyerID: buyer, SellerID: seller, RsvStatus: "CREATED", UpdatedAt: now()}
					want["deals of "+buyer] = append(want["deals of "+buyer], d.RsvID)
					tx.SaveDeal(d)
				}
			}
		}
	})
	// A deleted row leaves every listing.
	gone := uid()
	mustWriteView(t, s, func(tx app.ViewTx) { tx.SaveRow(&app.PageRow{ItemID: gone, SellerID: "bob", UpdatedAt: now()}) })
	_, err := updateView(s, func(tx app.ViewTx, _ int) error {
		row, err := tx.Row(gone)
		if err == nil {
			tx.DeleteRow(row)
		}
		return err
	})
	require.NoError(t, err)

	rows := listed(rowItemID, func(p app.Page) ([]app.PageRow, string, error) { return s.Views.Rows(ctx, p) })
	listings := []listing{
		{"items on sale", s.items(app.ItemFilter{}), named("sofa", "SICP", "bicycle bell", "자전거", "chair", "Go book", "Red BICYCLE"), true},
		{"items on sale by status", s.items(app.ItemFilter{Status: market.ItemCreated}), named("sofa", "SICP", "bicycle bell", "자전거", "chair", "Go book", "Red BICYCLE"), true},
		{"items reserved", s.items(app.ItemFilter{Status: market.ItemReserved}), named("Dune", "lamp"), true},
		{"items sold", s.items(app.ItemFilter{Status: market.ItemSoldOut}), named("table"), true},
		{"items by category", s.items(app.ItemFilter{Category: "books"}), named("SICP", "Go book"), true},
		{"items by status and category", s.items(app.ItemFilter{Status: market.ItemReserved, Category: "books"}), named("Dune"), true},
		{"items by query, any case, in descriptions", s.items(app.ItemFilter{Query: "BiCyCle"}), named("bicycle bell", "Red BICYCLE"), true},
		{"items by query and status", s.items(app.ItemFilter{Status: market.ItemReserved, Query: "BICYCLE"}), named("lamp"), true},
		{"items by query in Korean", s.items(app.ItemFilter{Query: "자전거"}), named("자전거"), true},
		{"items by seller", s.items(app.ItemFilter{SellerID: "bob"}), named("sofa", "SICP", "bicycle bell"), true},
		{"items by seller and category", s.items(app.ItemFilter{SellerID: "alice", Category: "home"}), named("chair"), true},
		{"items by seller, status and category", s.items(app.ItemFilter{SellerID: "alice", Status: market.ItemReserved, Category: "home"}), named("lamp"), true},
		{"items by seller, status and query", s.items(app.ItemFilter{SellerID: "alice", Status: market.ItemCreated, Query: "bicycle"}), named("Red BICYCLE"), true},
		{"items on sale by category", s.items(app.ItemFilter{Status: market.ItemCreated, Category: "home"}), named("sofa", "chair"), true},
		{"items of a region and its sub-regions", s.items(app.ItemFilter{Region: "seoul"}), named("SICP", "chair", "Go book", "Red BICYCLE"), true},
		{"items of a sub-region", s.items(app.ItemFilter{Region: "seoul/mapo"}), named("SICP", "Red BICYCLE"), true},
		{"items of a sub-region by status", s.items(app.ItemFilter{Region: "seoul/mapo", Status: market.ItemSoldOut}), named("table"), true},
		{"items of a region by category", s.items(app.ItemFilter{Region: "seoul", Category: "books"}), named("SICP", "Go book"), true},
		{"items of another region", s.items(app.ItemFilter{Region: "busan"}), named("자전거"), true},
		{"items of a region by seller", s.items(app.ItemFilter{Region: "seoul", SellerID: "alice"}), named("chair", "Go book", "Red BICYCLE"), true},
		{"items of a region by seller and category", s.items(app.ItemFilter{Region: "seoul", SellerID: "alice", Category: "books"}), named("Go book"), true},
		{"items from a price", s.items(app.ItemFilter{MinPrice: price(20_000)}), named("SICP", "자전거", "chair", "Red BICYCLE"), true},
		{"items up to a price", s.items(app.ItemFilter{MaxPrice: price(15_000)}), named("sofa", "bicycle bell", "Go book"), true},
		{"items in a price range", s.items(app.ItemFilter{MinPrice: price(15_000), MaxPrice: price(40_000)}), named("SICP", "chair", "Go book"), true},
		{"items of a region from a price", s.items(app.ItemFilter{Region: "seoul", MinPrice: price(30_000)}), named("chair", "Red BICYCLE"), true},
		{"items by seller up to a price", s.items(app.ItemFilter{SellerID: "bob", MaxPrice: price(10_000)}), named("sofa", "bicycle bell"), true},
		{"items matching nothing", s.items(app.ItemFilter{Query: "piano"}), nil, true},
		{"items of an unknown seller", s.items(app.ItemFilter{SellerID: "carol"}), nil, true},
		{"items of an unknown region", s.items(app.ItemFilter{Region: "daegu"}), nil, true},
		{"items of a region's name cut short", s.items(app.ItemFilter{Region: "seo"}), nil, true},
		{"items in an empty price range", s.items(app.ItemFilter{MinPrice: price(100), MaxPrice: price(99)}), nil, true},
		{"messages in posting order", s.messages(chat.ID()), chatIDs, true},
		{"messages of an unknown chat", s.messages("nope"), nil, true},
		{"rows, newest first", rows, want["rows"], true},
		{"rows by seller", s.rowsBySeller("alice"), want["rows of alice"], false},
		{"rows of an unknown seller", s.rowsBySeller("nope"), nil, false},
		{"deals by buyer", s.dealsByBuyer("carol"), want["deals of carol"], false},
		{"deals by another buyer", s.dealsByBuyer("dave"), want["deals of dave"], false},
		{"deals of an unknown buyer", s.dealsByBuyer("nope"), nil, false},
	}

	testEveryListing(t, listings)

	// A cursor is good only in the partition that gave it out.
	testForeignCursors(t, []partition{
		{"items by seller", s.items(app.ItemFilter{SellerID: "alice"}), s.items(app.ItemFilter{SellerID: "bob"})},
		{"items by region", s.items(app.ItemFilter{Region: "seoul"}), s.items(app.ItemFilter{Region: "seoul/mapo"})},
		{"items by status", s.items(app.ItemFilter{}), s.items(app.ItemFilter{Status: market.ItemReserved})},
		{"messages", s.messages(chat.ID()), s.messages(other.ID())},
		{"rows by seller", s.rowsBySeller("alice"), s.rowsBySeller("bob")},
		{"deals by buyer", s.dealsByBuyer("carol"), s.dealsByBuyer("dave")},
	})
}

// testEveryListing reads each listing whole at several page limits, and
// checks that a bad limit or a cursor no listing gave out is refused.
func testEveryListing(t *testing.T, listings []listing) {
	for _, l := range listings {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			for _, limit := range []int{0, 1, 2, 3, app.MaxPageLimit + 1} {
				got := pageAll(t, limit, l.list)
				if l.ordered {
					assert.Equal(t, l.want, emptyNil(got), "limit %d", limit)
				} else {
					assert.ElementsMatch(t, l.want, got, "every one exactly once, limit %d", limit)
				}
			}
			_, _, err := l.list(app.Page{Limit: -1})
			assertInvalid(t, "limit", err)
			for _, cursor := range garbageCursors {
				_, _, err := l.list(app.Page{Cursor: cursor})
				assertInvalid(t, "cursor", err)
			}
		})
	}
}

// partition is a listing of one partition (from), which must give out a
// cursor on its first page of one, and a listing of another (other).
type partition struct {
	name        string
	from, other func(app.Page) ([]string, string, error)
}

// testForeignCursors checks that a cursor works in its own partition and
// is refused in another.
func testForeignCursors(t *testing.T, partitions []partition) {
	for _, p := range partitions {
		t.Run(p.name+" refuse another partition's cursor", func(t *testing.T) {
			t.Parallel()
			_, cursor, err := p.from(app.Page{Limit: 1})
			require.NoError(t, err)
			require.NotEmpty(t, cursor)
			_, _, err = p.from(app.Page{Limit: 1, Cursor: cursor})
			require.NoError(t, err, "a good cursor works")
			_, _, err = p.other(app.Page{Cursor: cursor})
			assertInvalid(t, "cursor", err)
		})
	}
}

func price(won int64) *int64 { return &won }

// garbageCursors were never given out by any listing.
var garbageCursors = []string{
	"%%%",                  // not base64
	"bm90IGpzb24",          // "not json"
	"WzEsMiwzXQ",           // [1,2,3]
	"e30",                  // {}
	"eyJmb28iOiJiYXIifQ",   // {"foo":"bar"}
	"eyJpdGVtSWQiOiIifQ",   // {"itemId":""}
	"eyJpdGVtSWQiOiJ4In0=", // padded
	"bTo",                  // "m:" and nothing
}

func emptyNil(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	return xs
}

// testPageLimits fills a store of its own with more items than the
// largest page.
func testPageLimits(t *testing.T, s Stores) {
	const n = app.MaxPageLimit + 5
	var all []string
	for len(all) < n {
		mustWrite(t, s, func(tx app.Tx) {
			for range min(15, n-len(all)) { // DynamoDB takes 100 writes in one transaction; each item also logs its change and has its feed rows
				it := newItem(uid(), "seller", market.ItemDetails{})
				all = append(all, it.ID())
				tx.SaveItem(it)
			}
		})
	}
	list := s.items(app.ItemFilter{})
	for _, c := range []struct {
		name  string
		limit int
		want  int
	}{
		{"0 is the default", 0, app.DefaultPageLimit},
		{"the maximum", app.MaxPageLimit, app.MaxPageLimit},
		{"above the maximum is the maximum", app.MaxPageLimit + 1, app.MaxPageLimit},
		{"far above the maximum", 1 << 30, app.MaxPageLimit},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, next, err := list(app.Page{Limit: c.limit})
			require.NoError(t, err)
			assert.Len(t, got, c.want)
			assert.NotEmpty(t, next)
		})
	}
	t.Run("every item once at the default limit", func(t *testing.T) {
		t.Parallel()
		assert.ElementsMatch(t, all, pageAll(t, 0, list))
	})
}

// testFeedsFollowItems moves one item through every kind of change and
// checks after each which feeds show it: a feed is never behind its items.
func testFeedsFollowItems(t *testing.T, s Stores) {
	region := "feeds-" + uid()
	it := newItem(uid(), "alice", market.ItemDetails{Name: "desk", Category: "books", Region: region + "/a"})
	mustWrite(t, s, func(tx app.Tx) { tx.SaveItem(it) })
	// change loads the item in a unit of work, edits its state and saves it.
	change := func(edit func(*market.ItemState)) {
		mustWrite(t, s, func(tx app.Tx) {
			loaded, err := tx.Item(it.ID())
			require.NoError(t, err)
			st := loaded.State()
			edit(&st)
			tx.SaveItem(market.RestoreItem(st))
		})
	}
	feeds := map[string]app.ItemFilter{
		"region":                  {Region: region},
		"old sub-region":          {Region: region + "/a"},
		"new sub-region":          {Region: region + "/b"},
		"region and old category": {Region: region, Category: "books"},
		"region and new category": {Region: region, Category: "home"},
		"reserved in region":      {Region: region, Status: market.ItemReserved},
		"seller in region":        {Region: region, SellerID: "alice"},
	}
	steps := []struct {
		name   string
		change func()
		in     []string
	}{
		{"registered", func() {}, []string{"region", "old sub-region", "region and old category", "seller in region"}},
		{"moved and recategorised", func() {
			change(func(st *market.ItemState) { st.Details.Region, st.Details.Category = region+"/b", "home" })
		}, []string{"region", "new sub-region", "region and new category", "seller in region"}},
		{"reserved", func() { change(func(st *market.ItemState) { st.Status = market.ItemReserved }) }, []string{"reserved in region"}},
		{"released", func() { change(func(st *market.ItemState) { st.Status = market.ItemCreated }) },
			[]string{"region", "new sub-region", "region and new category", "seller in region"}},
		{"deleted", func() {
			mustWrite(t, s, func(tx app.Tx) {
				loaded, err := tx.Item(it.ID())
				require.NoError(t, err)
				tx.DeleteItem(loaded)
			})
		}, nil},
	}
	for _, step := range steps { // in order: each step changes the item
		step.change()
		for name, f := range feeds {
			got := pageAll(t, 0, s.items(f))
			assert.Equal(t, slices.Contains(step.in, name), slices.Contains(got, it.ID()), "%s: in the feed %s", step.name, name)
		}
	}
}

// testFeedCursors pages through a feed while newer items are added to it
// concurrently: a cursor stays good, and the pages answer every item that
// was there exactly once, newest first; the new items come first in a
// read from the start.
func testFeedCursors(t *testing.T, s Stores) {
	region := "cursors-" + uid()
	first := now().Add(-time.Hour)
	var before []string
	mustWrite(t, s, func(tx app.Tx) {
		for i := range 7 {
			st := newItem(uid(), "alice", market.ItemDetails{Region: region + "/old"}).State()
			st.CreatedAt = first.Add(time.Duration(i) * time.Minute)
			before = append([]string{st.ID}, before...) // newest first
			tx.SaveItem(market.RestoreItem(st))
		}
	})
	feed := s.items(app.ItemFilter{Region: region})
	got, cursor, err := feed(app.Page{Limit: 2})
	require.NoError(t, err)
	require.NotEmpty(t, cursor)

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added []string
	)
	for range 4 {
		wg.Go(func() {
			it := newItem(uid(), "bob", market.ItemDetails{Region: region + "/new"})
			_, _, err := update(s, func(tx app.Tx, _ int) error { tx.SaveItem(it); return nil })
			assert.NoError(t, err) // not require: this is not the test's goroutine
			mu.Lock()
			defer mu.Unlock()
			added = append(added, it.ID())
		})
	}
	for cursor != "" {
		var page []string
		page, cursor, err = feed(app.Page{Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		got = append(got, page...)
	}
	wg.Wait()
	assert.Equal(t, before, got, "every item there before, once, newest first")

	fresh := pageAll(t, 0, feed)
	require.Len(t, fresh, len(before)+len(added))
	assert.ElementsMatch(t, added, fresh[:len(added)], "the new items first")
	assert.Equal(t, before, fresh[len(added):])
}
