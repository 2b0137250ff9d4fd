package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/functions/app"
)

// A cursor is the key of the last row of a page, as base64url of a JSON
// object of its key attributes (all strings). It names the listing it came
// from only through its attributes: a cursor of another listing whose key
// attributes differ, or whose values DynamoDB would refuse as keys, is
// rejected as Invalid, never sent to DynamoDB.

// maxKeyBytes is the longest key value a cursor may hold: DynamoDB takes
// sort keys of up to 1024 bytes (partition keys of up to 2048). Every id
// and user id carrot stores is far shorter.
const maxKeyBytes = 1024

func encodeCursor(row map[string]types.AttributeValue, attrs []string) string {
	k := make(map[string]string, len(attrs))
	for _, a := range attrs {
		if v, ok := row[a].(*types.AttributeValueMemberS); ok {
			k[a] = v.Value
		}
	}
	b, _ := json.Marshal(k) // a map of strings always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor also requires the attributes in fixed to hold the given
// values: a query's cursor must belong to the partition it reads.
func decodeCursor(cursor string, attrs []string, fixed map[string]string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := app.BadCursor()
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, bad
	}
	var k map[string]string
	if err := json.Unmarshal(b, &k); err != nil || len(k) != len(attrs) {
		return nil, bad
	}
	start := make(map[string]types.AttributeValue, len(attrs))
	for _, a := range attrs {
		v, ok := k[a]
		if !ok || v == "" || len(v) > maxKeyBytes {
			return nil, bad
		}
		if want, ok := fixed[a]; ok && v != want {
			return nil, bad
		}
		start[a] = str(v)
	}
	return start, nil
}

// fetchFunc reads one DynamoDB page of at most limit evaluated rows
// starting after start.
type fetchFunc func(ctx context.Context, start map[string]types.AttributeValue, limit int32) (rows []map[string]types.AttributeValue, last map[string]types.AttributeValue, err error)

// maxAsk is the most rows collect asks DynamoDB to read in one call.
// DynamoDB's Limit counts the rows read before a filter, so asking for one
// page each time would make a filter that keeps one row in ten take ten
// calls a page. collect asks for a page first and twice as many each time
// after, up to maxAsk: a filter costs a few calls a page, and a call reads
// at most as many rows more than the page needs as all calls before it.
const maxAsk = 400

// MaxPageRead is the most rows one page may ask DynamoDB to read, before
// any filter. DynamoDB charges a Query for the rows it reads, not for those
// its filter keeps, so without a bound a filter that few rows pass (a price
// range nobody asks, a word in another region) would read its whole
// partition for one page, and cost more the larger the catalogue. A page
// that spends its reads ends short, or empty, with a cursor after the last
// row read: the next page goes on from there, and no row is skipped. So a
// page reads at most this many rows at any catalogue size.
const MaxPageRead = 500

// A readBudget is how many rows the page being read may still ask for.
type readBudget struct{ left int }

func pageBudget() *readBudget { return &readBudget{left: MaxPageRead} }

func (b *readBudget) spent() bool { return b.left <= 0 }

// collect reads DynamoDB pages until it has the page's rows, the listing
// ends, or the page's reads are spent. attrs are the key attributes of a
// row in this listing (the table's key plus the index key when reading an
// index), from which the next cursor is made. The cursor points just after
// the last row returned, so rows a filter dropped are read again but none
// is skipped; when the reads are spent, it points after the last row read.
// A listing that ends exactly at a page boundary may answer one last,
// empty page. fixed holds the partition a query reads, which a cursor must
// match.
func collect(ctx context.Context, p app.Page, attrs []string, fixed map[string]string, budget *readBudget, fetch fetchFunc) ([]map[string]types.AttributeValue, string, error) {
	limit, err := app.PageLimit(p)
	if err != nil {
		return nil, "", err
	}
	start, err := decodeCursor(p.Cursor, attrs, fixed)
	if err != nil {
		return nil, "", err
	}
	var out []map[string]types.AttributeValue
	for ask := limit; ; ask = min(2*ask, maxAsk) {
		ask = min(ask, budget.left)
		rows, last, err := fetch(ctx, start, int32(ask))
		if err != nil {
			return nil, "", err
		}
		budget.left -= ask
		for i, row := range rows {
			out = append(out, row)
			if len(out) == limit {
				if i == len(rows)-1 && last == nil {
					return out, "", nil
				}
				return out, encodeCursor(row, attrs), nil
			}
		}
		if last == nil {
			return out, "", nil
		}
		if budget.spent() {
			return out, encodeCursor(last, attrs), nil
		}
		start = last
	}
}
