package apptest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// listing is one listing of either port, reduced to the ids it answers,
// with the ids it must answer. Only messages promise an order that every
// adapter keeps; the others are compared as sets.
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

// testListings fills a store of its own and reads every listing with
// every filter.
func testListings(t *testing.T, s Stores) {
	// Seller "alice" lists 7 items, "bob" 3; some are reserved, some are
	// books, a few mention a bicycle in mixed case or in Korean.
	specs := []struct {
		seller, name, category, description string
		status                              market.ItemStatus
	}{
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
	var allItems []string
	mustWrite(t, s, func(tx app.Tx) {
		for _, sp := range specs {
			st := newItem(uid(), sp.seller, market.ItemDetails{Name: sp.name, Category: sp.category, Description: sp.description}).State()
			st.Status = sp.status
			byName[sp.name] = st.ID
			allItems = append(allItems, st.ID)
			tx.SaveItem(market.RestoreItem(st))
		}
	})
	named := func(names ...string) []string {
		out := []string{}
		for _, n := range names {
			out = append(out, byName[n])
		}
		return out
	}

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
			want["rows"] = append(want["rows"], row.ItemID)
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
		{"items", s.items(app.ItemFilter{}), allItems, false},
		{"items by status", s.items(app.ItemFilter{Status: market.ItemReserved}), named("lamp", "Dune"), false},
		{"items by category", s.items(app.ItemFilter{Category: "books"}), named("Go book", "Dune", "SICP"), false},
		{"items by query, any case, in descriptions", s.items(app.ItemFilter{Query: "BiCyCle"}), named("Red BICYCLE", "lamp", "bicycle bell"), false},
		{"items by query in Korean", s.items(app.ItemFilter{Query: "자전거"}), named("자전거"), false},
		{"items by seller", s.items(app.ItemFilter{SellerID: "bob"}), named("bicycle bell", "SICP", "sofa"), false},
		{"items by seller and category", s.items(app.ItemFilter{SellerID: "alice", Category: "home"}), named("lamp", "chair", "table"), false},
		{"items by seller, status and query", s.items(app.ItemFilter{SellerID: "alice", Status: market.ItemCreated, Query: "bicycle"}), named("Red BICYCLE"), false},
		{"items by status and category", s.items(app.ItemFilter{Status: market.ItemCreated, Category: "home"}), named("chair", "sofa"), false},
		{"items matching nothing", s.items(app.ItemFilter{Query: "piano"}), nil, false},
		{"items of an unknown seller", s.items(app.ItemFilter{SellerID: "carol"}), nil, false},
		{"messages in posting order", s.messages(chat.ID()), chatIDs, true},
		{"messages of an unknown chat", s.messages("nope"), nil, true},
		{"rows", rows, want["rows"], false},
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
			for range min(50, n-len(all)) { // DynamoDB takes 100 writes in one transaction; each item also logs its change
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
