package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
)

func TestCatalogueItem(t *testing.T) {
	t.Parallel()
	const n = 10000
	count := map[string]int{}
	for i := range n {
		st, err := catalogueItem(i)
		require.NoError(t, err)
		again, err := catalogueItem(i)
		require.NoError(t, err)
		require.Equal(t, st, again, "item %d is the same each time", i)
		count["category="+st.Details.Category]++
		count["seller="+st.SellerID]++
		for _, r := range app.RegionPrefixes(st.Details.Region) {
			count["region="+r]++
		}
		for _, q := range []string{"자전거", "아이폰 프로", "iphone"} {
			if app.ParseSearch(q).Matches(st.Details.Name, st.Details.Description) {
				count["q="+q]++
			}
		}
	}
	tests := []struct {
		key      string
		min, max int
	}{
		{"category=" + sparseCategory, n / 1000, n / 1000},
		{"seller=" + profiledSeller, n / 25, n / 25},
		{"region=seoul", n * 4 / 10, n * 6 / 10},
		{"region=seoul/mapo", n / 8, n * 3 / 8},
		{"region=busan", n / 8, n * 3 / 8},
		{"category=digital", n / 5, n * 2 / 5},
		{"q=자전거", n / 50, n / 10},
		{"q=아이폰 프로", n / 500, n / 50},
		{"q=iphone", n / 50, n / 10},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			assert.GreaterOrEqual(t, count[tt.key], tt.min)
			assert.LessOrEqual(t, count[tt.key], tt.max)
		})
	}
}
