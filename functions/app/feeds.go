package app

import (
	"strings"
	"time"

	"github.com/carrot-market/carrot/functions/market"
)

// The feeds (SPEC 3.6): every item listing answers newest first and holds
// items of one status, on sale unless asked otherwise. Adapters keep them
// as they like, but all of them with these rules.

// OnSale returns the status the filter lists: its own, or
// market.ItemCreated when it names none.
func (f ItemFilter) OnSale() market.ItemStatus {
	if f.Status == "" {
		return market.ItemCreated
	}
	return f.Status
}

// Matches reports whether the item st belongs to the listing f.
func (f ItemFilter) Matches(st market.ItemState) bool {
	d := st.Details
	return st.Status == f.OnSale() &&
		(f.Region == "" || InRegion(d.Region, f.Region)) &&
		(f.Category == "" || d.Category == f.Category) &&
		(f.SellerID == "" || st.SellerID == f.SellerID) &&
		(f.MinPrice == nil || d.Price >= *f.MinPrice) &&
		(f.MaxPrice == nil || d.Price <= *f.MaxPrice) &&
		ParseSearch(f.Query).Matches(d.Name, d.Description)
}

// InRegion reports whether an item of region itemRegion is shown in the
// feed of region: the same region or one of its sub-regions, whose names
// extend it after a "/" ("seoul" holds "seoul/mapo", not "seoulite").
func InRegion(itemRegion, region string) bool {
	return itemRegion == region || strings.HasPrefix(itemRegion, region+"/")
}

// RegionPrefixes returns the regions whose feeds show an item of region,
// widest first: "seoul/mapo" is in "seoul" and "seoul/mapo". An item of no
// region is in none (only in the feed of every region).
func RegionPrefixes(region string) []string {
	var out []string
	for i := range len(region) {
		if region[i] == '/' && i > 0 {
			out = append(out, region[:i])
		}
	}
	if region != "" {
		out = append(out, region)
	}
	return out
}

// FeedOrder is the sort key that orders a feed: ascending FeedOrder is
// oldest first, so a feed reads it descending. It holds the creation time
// in UTC with a fixed width, so that text order is time order, and then
// the item id, so that items created in the same instant keep one order.
// It never changes for an item, so a cursor stays good while new items
// arrive (they sort before it).
func FeedOrder(createdAt time.Time, itemID string) string {
	return createdAt.UTC().Format("2006-01-02T15:04:05.000000000Z") + "|" + itemID
}
