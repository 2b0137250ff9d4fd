package apptest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// testSearch lists items by keyword (q) in Korean and English, alone and
// with the other filters, then edits and deletes items and checks that no
// search still finds what they no longer hold. Its items are in a region
// of their own, so it may share a store.
func testSearch(t *testing.T, s Stores) {
	region := "search-" + uid()
	named := saveItems(t, s, []itemSpec{
		{"alice", "아이폰 12 프로", "phones", "", market.ItemCreated, region + "/a", 700_000},
		{"bob", "iPhone 12", "phones", "Unlocked", market.ItemCreated, region + "/b", 500_000},
		{"bob", "아이폰케이스", "cases", "", market.ItemCreated, region + "/a", 10_000},
		{"alice", "폰 케이스", "cases", "for any phone", market.ItemCreated, region + "/b", 5_000},
		{"alice", "desk", "home", "아이폰 거치대 포함", market.ItemCreated, region + "/a", 30_000},
		{"bob", "이폰 아이", "home", "", market.ItemCreated, region + "/a", 1_000},
		{"alice", "아이폰 11", "phones", "", market.ItemReserved, region + "/a", 400_000},
	})
	search := func(q string, f app.ItemFilter) func(app.Page) ([]string, string, error) {
		if f.Region == "" {
			f.Region = region
		}
		f.Query = q
		return s.items(f)
	}

	// The listings' subtests are parallel: the group ends when they do,
	// before the items change.
	t.Run("before the edits", func(t *testing.T) {
		testEveryListing(t, []listing{
			{"a Korean word, alone and inside a compound", search("아이폰", app.ItemFilter{}), named("desk", "아이폰케이스", "아이폰 12 프로"), true},
			{"an English word in any case", search("IPHONE", app.ItemFilter{}), named("iPhone 12"), true},
			{"an English word in a description", search("unlocked", app.ItemFilter{}), named("iPhone 12"), true},
			{"two words", search("아이폰 프로", app.ItemFilter{}), named("아이폰 12 프로"), true},
			{"two words of two languages", search("iphone 12", app.ItemFilter{}), named("iPhone 12"), true},
			{"a word and a number written together", search("iPhone12", app.ItemFilter{}), named("iPhone 12"), true},
			{"the end of a compound", search("케이스", app.ItemFilter{}), named("폰 케이스", "아이폰케이스"), true},
			{"one syllable, as a word of its own", search("폰", app.ItemFilter{}), named("폰 케이스"), true},
			{"a word with a sub-region", search("아이폰", app.ItemFilter{Region: region + "/a"}), named("desk", "아이폰케이스", "아이폰 12 프로"), true},
			{"a word with a category", search("아이폰", app.ItemFilter{Category: "phones"}), named("아이폰 12 프로"), true},
			{"a word with a seller", search("아이폰", app.ItemFilter{SellerID: "bob"}), named("아이폰케이스"), true},
			{"a word with a status", search("아이폰", app.ItemFilter{Status: market.ItemReserved}), named("아이폰 11"), true},
			{"a word with a price range", search("아이폰", app.ItemFilter{MinPrice: price(10_000), MaxPrice: price(30_000)}), named("desk", "아이폰케이스"), true},
			{"a word's syllables apart", search("아이 이폰", app.ItemFilter{}), named("이폰 아이", "desk", "아이폰케이스", "아이폰 12 프로"), true},
			{"a word whose bigrams an item holds apart", search("아이폰", app.ItemFilter{Category: "home"}), named("desk"), true},
			{"the start of an English word", search("iph", app.ItemFilter{}), nil, true},
			{"a word no item holds", search("갤럭시", app.ItemFilter{}), nil, true},
		})
	})

	// change loads an item, edits it and saves it, or deletes it.
	change := func(name string, edit func(*market.ItemState)) {
		mustWrite(t, s, func(tx app.Tx) {
			loaded, err := tx.Item(named(name)[0])
			require.NoError(t, err)
			if edit == nil {
				tx.DeleteItem(loaded)
				return
			}
			st := loaded.State()
			edit(&st)
			tx.SaveItem(market.RestoreItem(st))
		})
	}
	change("아이폰케이스", func(st *market.ItemState) { st.Details.Name = "갤럭시케이스" })
	change("desk", nil)
	change("iPhone 12", func(st *market.ItemState) { st.Status = market.ItemSoldOut })
	for q, want := range map[string][]string{
		"아이폰":    named("아이폰 12 프로"),
		"갤럭시":    named("아이폰케이스"),
		"케이스":    named("폰 케이스", "아이폰케이스"),
		"거치대":    nil,
		"iphone": nil,
	} {
		assert.Equal(t, want, emptyNil(pageAll(t, 0, search(q, app.ItemFilter{}))), "after the edits, %q", q)
	}
	assert.Equal(t, named("iPhone 12"), pageAll(t, 0, search("iphone", app.ItemFilter{Status: market.ItemSoldOut})))
}

// testLongWords stores items whose words are longer than a storage key
// may be: a Latin word of thousands of letters, Japanese written without
// spaces, a word that NFKC makes three times longer, and two long words
// alike for their first hundreds of letters. Each is stored, and a search
// finds the item whose word it names, not the one whose word only begins
// alike.
func testLongWords(t *testing.T, s Stores) {
	region := "long-" + uid()
	ffi := strings.Repeat("\uFB03", 100) // "ﬃ": NFKC makes it "ffi", a word of 300 letters
	named := saveItems(t, s, []itemSpec{
		{"alice", "ligatures", "books", ffi, market.ItemCreated, region, 1_000},
		{"alice", "ligatures and one more", "books", ffi + "x", market.ItemCreated, region, 1_000},
		{"bob", "two words alike", "books", strings.Repeat("a", 2100) + " " + strings.Repeat("a", 2099) + "b", market.ItemCreated, region, 1_000},
		{"bob", "japanese", "books", strings.Repeat("日本語の説明文です", 78), market.ItemCreated, region, 1_000},
		{"bob", "squared katakana", "books", strings.Repeat("\u3300", 100), market.ItemCreated, region, 1_000}, // "㌀" is "アパート"
	})
	search := func(q string) func(app.Page) ([]string, string, error) {
		return s.items(app.ItemFilter{Region: region, Query: q})
	}
	testEveryListing(t, []listing{
		{"a word of 300 letters", search(ffi), named("ligatures"), true},
		{"a word of 400 katakana", search(strings.Repeat("\u3300", 100)), named("squared katakana"), true},
		{"the start of a long word", search("日本語の説明文です"), nil, true},
		{"a word under its long neighbours", search("words"), named("two words alike"), true},
	})
}
