package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// The word index answers a search of the items on sale, the listing buyers
// search, reading about a page of rows whatever the catalogue's size. It
// lives in the feed table: the partition wordFeed(token) holds a row for
// each item on sale that has the token (app.SearchTokens), sorted by
// app.FeedOrder like every feed. A row carries the item's region,
// category, price, seller and, when it is short, its search text, so that
// DynamoDB filters the rows before a page is confirmed.
//
// An item with a long description has hundreds of tokens, more than the
// 100 actions of one transaction, so its word rows are written beside the
// item's transaction, by batches, under keys no other write shares: a
// row's sort key ends in the nonce of the attempt that wrote it, and the
// transaction stores that nonce in the item ("words"). A search shows a row
// only when the item, read consistently, holds the row's nonce and matches
// the search, so rows of an attempt that never committed, or of a state
// since replaced, are never shown. An attempt writes its rows before its
// transaction, so a committed item is always indexed; it deletes the rows
// of the state it replaced after the transaction, and its own when the
// transaction fails. A crash between the two leaves rows that no search
// shows; the first search that reads such a row once it is older than
// orphanAge deletes it (confirm), so orphans cost reads only until then.

// orphanAge is how old a row whose nonce its item does not hold must be
// before a search deletes it. No attempt lives that long between writing
// its rows and committing (a command's or a delivery's deadline is a
// minute at most), so a younger row may be an attempt's still in flight,
// whose item is about to hold its nonce, and is only passed over.
const orphanAge = 10 * time.Minute

// maxWordSearch is the longest search text a word row copies. A longer
// text would be copied into hundreds of rows; without it, the row passes
// the words filter and the confirming read decides.
const maxWordSearch = 400

// wordRecord is one item on sale in the partition of one token.
type wordRecord struct {
	Feed     string `dynamodbav:"feed"`
	At       string `dynamodbav:"at"`
	ItemID   string `dynamodbav:"itemId"`
	SellerID string `dynamodbav:"sellerId,omitempty"`
	Region   string `dynamodbav:"region"`
	Category string `dynamodbav:"category"`
	Price    int64  `dynamodbav:"price"`
	Search   string `dynamodbav:"search,omitempty"`
	// Written is when the row was put, in Unix seconds; 0 on a row of a
	// carrot older than this field, which is never deleted as an orphan.
	Written int64 `dynamodbav:"written,omitempty"`
}

// maxKeyToken is the most characters of a token that a word partition's
// key names. DynamoDB takes partition keys of up to 2,048 bytes, and a
// token is a whole run of letters, which can be far longer: a word of
// thousands of letters, or Japanese written without spaces, each character
// nine bytes once escaped. 100 characters escape to at most 1,200 bytes.
// Tokens alike for their first 100 characters share a partition; the
// confirming read tells their items apart.
const maxKeyToken = 100

// wordFeed names the partition of one token. Its key has a part no feed
// key has, so it can never be a feed's.
func wordFeed(token string) string {
	if r := []rune(token); len(r) > maxKeyToken {
		token = string(r[:maxKeyToken])
	}
	return url.Values{"status": {string(market.ItemCreated)}, "word": {token}}.Encode()
}

// newNonce returns a fresh nonce for the word rows of one attempt.
func newNonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// indexed reports whether the item of rec belongs in the word index.
func indexed(st market.ItemState) bool { return st.Status == market.ItemCreated }

// wordRecords returns the word rows of an item as stored in rec, none when
// rec holds no nonce.
func wordRecords(rec itemRecord) []wordRecord {
	if rec.Words == "" {
		return nil
	}
	at := app.FeedOrder(rec.CreatedAt, rec.ItemID) + "#" + rec.Words
	search := rec.Search
	if len(search) > maxWordSearch {
		search = ""
	}
	var rows []wordRecord
	seen := map[string]bool{} // long tokens alike for maxKeyToken characters share a row
	for _, token := range app.SearchTokens(rec.Name, rec.Description) {
		feed := wordFeed(token)
		if seen[feed] {
			continue
		}
		seen[feed] = true
		rows = append(rows, wordRecord{Feed: feed, At: at, ItemID: rec.ItemID, SellerID: rec.SellerID,
			Region: rec.Region, Category: rec.Category, Price: rec.Price, Search: search})
	}
	return rows
}

// wordWrites are the word rows of one attempt: those it puts, of the
// states it saves, and those it drops, of the states they replace.
type wordWrites struct {
	put, drop []wordRecord
}

// index records that an item stored as before (nil when new) is now
// stored as after (nil when deleted).
func (w *wordWrites) index(before, after *itemRecord) {
	if after != nil {
		w.put = append(w.put, wordRecords(*after)...)
	}
	if before != nil {
		w.drop = append(w.drop, wordRecords(*before)...)
	}
}

// putWords writes rows by batches, stamped with the time.
func (s *Store) putWords(ctx context.Context, rows []wordRecord) error {
	reqs := make([]types.WriteRequest, 0, len(rows))
	written := time.Now().Unix()
	for _, row := range rows {
		row.Written = written
		item, err := marshal(row, 0)
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return s.batchWriteAll(ctx, s.t.feed, reqs, "indexing words")
}

// dropWords deletes rows by batches, as cleaning up after a unit of work
// that has ended: the caller's cancellation does not stop it, and what it
// fails to delete no search shows.
func (s *Store) dropWords(ctx context.Context, rows []wordRecord) {
	reqs := make([]types.WriteRequest, 0, len(rows))
	for _, row := range rows {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key2("feed", row.Feed, "at", row.At)}})
	}
	_ = s.batchWriteAll(context.WithoutCancel(ctx), s.t.feed, reqs, "dropping words")
}

// searchable reports whether a listing is answered from the word index:
// a search of the items on sale.
func searchable(f app.ItemFilter) bool {
	return !app.ParseSearch(f.Query).Empty() && f.OnSale() == market.ItemCreated
}

// wordConds returns the filters of a listing on word rows. The search
// text is a hint (contains is true of a word inside a longer one, and a
// long text is not copied); the confirming read applies the search.
func wordConds(f app.ItemFilter, q app.Search) []expression.ConditionBuilder {
	var conds []expression.ConditionBuilder
	if f.Region != "" {
		region := expression.Name("region")
		conds = append(conds, region.Equal(expression.Value(f.Region)).Or(region.BeginsWith(f.Region+"/")))
	}
	if f.Category != "" {
		conds = append(conds, expression.Name("category").Equal(expression.Value(f.Category)))
	}
	if f.SellerID != "" {
		conds = append(conds, expression.Name("sellerId").Equal(expression.Value(f.SellerID)))
	}
	conds = append(conds, priceConds(f)...)
	for _, w := range q.Words {
		search := expression.Name("search")
		conds = append(conds, expression.AttributeNotExists(search).Or(expression.Contains(search, w)))
	}
	return conds
}
