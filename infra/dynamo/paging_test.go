package dynamo

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
)

// A cursor whose key values DynamoDB would refuse never reaches it: it is
// a bad cursor, as one that was never given out.
func TestDecodeCursorRefusesOversizedKeys(t *testing.T) {
	t.Parallel()
	attrs := []string{"itemId", "sellerId"}
	forge := func(itemID, sellerID string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"itemId":"` + itemID + `","sellerId":"` + sellerID + `"}`))
	}
	longest := strings.Repeat("i", maxKeyBytes)
	_, err := decodeCursor(forge(longest, longest), attrs, nil)
	assert.NoError(t, err, "keys of %d bytes are taken", maxKeyBytes)
	for _, c := range []string{forge(longest+"i", "ann"), forge("item-1", strings.Repeat("s", 3000))} {
		_, err := decodeCursor(c, attrs, nil)
		assert.Error(t, err)
	}
}

// partition stands for one DynamoDB partition of n rows in key order,
// read through a filter, counting the rows each read asks for.
type partition struct {
	n     int
	keep  func(i int) bool
	asked int
}

func rowKey(i int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: fmt.Sprintf("k%06d", i)}}
}

// fetch reads like a Query with a filter: limit counts the rows read, the
// rows returned are those the filter keeps, and last is set while rows
// remain.
func (p *partition) fetch(_ context.Context, start map[string]types.AttributeValue, limit int32) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
	p.asked += int(limit)
	from := 0
	if start != nil {
		_, _ = fmt.Sscanf(start["k"].(*types.AttributeValueMemberS).Value, "k%d", &from)
		from++
	}
	var rows []map[string]types.AttributeValue
	end := min(p.n, from+int(limit))
	for i := from; i < end; i++ {
		if p.keep(i) {
			rows = append(rows, rowKey(i))
		}
	}
	if end == p.n {
		return rows, nil, nil
	}
	return rows, rowKey(end - 1), nil
}

// walk reads every page of the partition with limit, checking that no page
// asks for more than MaxPageRead rows, and returns the keys read in order
// and the number of pages.
func (p *partition) walk(t *testing.T, limit int) (keys []string, pages int) {
	t.Helper()
	cursor := ""
	for {
		p.asked = 0
		rows, next, err := collect(context.Background(), app.Page{Limit: limit, Cursor: cursor}, []string{"k"}, nil, pageBudget(), p.fetch)
		require.NoError(t, err)
		assert.LessOrEqual(t, p.asked, MaxPageRead, "page %d", pages)
		assert.LessOrEqual(t, len(rows), limit)
		pages++
		for _, r := range rows {
			keys = append(keys, r["k"].(*types.AttributeValueMemberS).Value)
		}
		if next == "" {
			return keys, pages
		}
		require.Less(t, pages, 10*p.n, "the cursor goes on")
		cursor = next
	}
}

// A page reads at most MaxPageRead rows, whatever its filter keeps and
// however large its partition: a filter few rows pass answers short pages
// whose cursors go on, and walking them finds every row once, in order.
func TestCollectBoundsWhatAPageReads(t *testing.T) {
	t.Parallel()
	kept := func(p *partition) []string {
		var out []string
		for i := range p.n {
			if p.keep(i) {
				out = append(out, fmt.Sprintf("k%06d", i))
			}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		n, limit int
		keep     func(int) bool
		pages    int // pages to read them all
	}{
		{"no filter: full pages", 1000, 50, func(int) bool { return true }, 20},
		{"no row passes: empty pages on to the end", 10_000, 20, func(int) bool { return false }, 10_000 / MaxPageRead},
		{"one row in 97", 10_000, 20, func(i int) bool { return i%97 == 3 }, 0},
		{"one row in 3, a page of 200", 5000, 200, func(i int) bool { return i%3 == 0 }, 0},
		{"rows only at the far end", 7000, 20, func(i int) bool { return i > 6990 }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &partition{n: tc.n, keep: tc.keep}
			keys, pages := p.walk(t, tc.limit)
			assert.Equal(t, kept(p), keys)
			if tc.pages > 0 {
				assert.Equal(t, tc.pages, pages)
			}
		})
	}
}
