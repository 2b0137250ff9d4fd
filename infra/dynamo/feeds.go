package dynamo

import (
	"net/url"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// The feed table is the read model of the item listings (SPEC 3.6): a copy
// of each item in every feed that shows it, written in the transaction
// that writes the item, so a feed is never behind its items and needs no
// event. Its partition key "feed" names one feed (feedKey); its sort key
// "at" is app.FeedOrder, so a Query read backwards answers newest first
// and a cursor, the last key read, stays good while items are added. The
// README ("Feeds") lists the access patterns and what a page costs.

// feedRecord is one item in one feed.
type feedRecord struct {
	Feed string `dynamodbav:"feed"`
	At   string `dynamodbav:"at"`
	// Tokens are the item's search tokens (app.SearchTokens), a string
	// set, so that a filter can ask for each token of a search.
	Tokens []string `dynamodbav:"tokens,stringset,omitempty"`
	itemRecord
}

func (r feedRecord) item() *market.Item { return r.itemRecord.item() }

// feedKey names the feed of one status, optionally narrowed to a region,
// a category or a seller, as URL query text: its parts are escaped, so no
// category or region can pass for another feed's key.
func feedKey(status market.ItemStatus, region, category, sellerID string) string {
	v := url.Values{"status": {string(status)}}
	for name, value := range map[string]string{"region": region, "category": category, "seller": sellerID} {
		if value != "" {
			v.Set(name, value)
		}
	}
	return v.Encode()
}

// feedsOf returns the feeds an item is in: for the feed of every region
// and for each region that holds the item's, one feed and one per
// category; and its seller's feed. All are of the item's status.
func feedsOf(st market.ItemState) []string {
	d := st.Details
	var feeds []string
	for _, region := range append([]string{""}, app.RegionPrefixes(d.Region)...) {
		feeds = append(feeds, feedKey(st.Status, region, "", ""))
		if d.Category != "" {
			feeds = append(feeds, feedKey(st.Status, region, d.Category, ""))
		}
	}
	if st.SellerID != "" {
		feeds = append(feeds, feedKey(st.Status, "", "", st.SellerID))
	}
	return feeds
}

// feedQuery returns the feed a listing reads and the filters left to
// apply to its rows. A seller's feed is read whole and narrowed by filters:
// one seller lists few items. Price and text are always filters.
func feedQuery(f app.ItemFilter) (string, []expression.ConditionBuilder) {
	var conds []expression.ConditionBuilder
	feed := feedKey(f.OnSale(), f.Region, f.Category, "")
	if f.SellerID != "" {
		feed = feedKey(f.OnSale(), "", "", f.SellerID)
		if f.Region != "" {
			region := expression.Name("region")
			conds = append(conds, region.Equal(expression.Value(f.Region)).Or(region.BeginsWith(f.Region+"/")))
		}
		if f.Category != "" {
			conds = append(conds, expression.Name("category").Equal(expression.Value(f.Category)))
		}
	}
	conds = append(conds, priceConds(f)...)
	return feed, append(conds, searchConds(app.ParseSearch(f.Query))...)
}

// priceConds returns the filters of a listing's price range.
func priceConds(f app.ItemFilter) []expression.ConditionBuilder {
	var conds []expression.ConditionBuilder
	if f.MinPrice != nil {
		conds = append(conds, expression.Name("price").GreaterThanEqual(expression.Value(*f.MinPrice)))
	}
	if f.MaxPrice != nil {
		conds = append(conds, expression.Name("price").LessThanEqual(expression.Value(*f.MaxPrice)))
	}
	return conds
}

// searchConds returns the filters that keep the rows matching s, as
// app.Search.Matches does: the text holds each word and the token set
// each token.
func searchConds(s app.Search) []expression.ConditionBuilder {
	var conds []expression.ConditionBuilder
	for _, w := range s.Words {
		conds = append(conds, expression.Contains(expression.Name("search"), w))
	}
	for _, t := range s.Tokens() {
		conds = append(conds, expression.Contains(expression.Name("tokens"), t))
	}
	return conds
}

// feedRecords returns the rows of an item in every feed that shows it.
func feedRecords(st market.ItemState) []feedRecord {
	at := app.FeedOrder(st.CreatedAt, st.ID)
	tokens := app.SearchTokens(st.Details.Name, st.Details.Description)
	item := toItemRecord(st)
	var recs []feedRecord
	for _, feed := range feedsOf(st) {
		recs = append(recs, feedRecord{Feed: feed, At: at, Tokens: tokens, itemRecord: item})
	}
	return recs
}

// writeFeeds adds to the transaction the feed rows of an item that was
// before (nil when it is new) and is after (nil when it is deleted) at
// version: a copy in each feed of after, and a delete from each feed of
// before that after is not in. The item's own write carries the condition
// that guards them all.
func (t *tx) writeFeeds(before, after *market.ItemState, version int64) {
	keep := map[string]bool{}
	if after != nil {
		for _, rec := range feedRecords(*after) {
			keep[rec.Feed] = true
			t.put(rowID(t.s.t.feed, rec.Feed, rec.At), t.s.t.feed, rec, version, nil)
		}
	}
	if before == nil {
		return
	}
	at := app.FeedOrder(before.CreatedAt, before.ID)
	for _, feed := range feedsOf(*before) {
		if !keep[feed] {
			item, err := del(t.s.t.feed, key2("feed", feed, "at", at), nil)
			t.add(rowID(t.s.t.feed, feed, at), item, err)
		}
	}
}

// storedItem returns the item as this unit of work loaded it, or as it is
// stored when it was not loaded (the item's versioned write checks that
// it is still so); nil when it was never stored.
func (t *tx) storedItem(st market.ItemState) (*itemRecord, error) {
	if loaded, ok := t.items[st.ID]; ok {
		return &loaded, nil
	}
	if st.Version == 0 {
		return nil, nil
	}
	var rec itemRecord
	found, err := t.s.get(t.ctx, t.s.t.items, key("itemId", st.ID), &rec, "item")
	if err != nil || !found {
		return nil, err
	}
	return &rec, nil
}
