package market_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
)

func TestItemDetailsValidate(t *testing.T) {
	t.Parallel()
	hangul := func(n int) string { return strings.Repeat("가", n) }
	photos := func(n int) []string {
		p := make([]string, n)
		for i := range p {
			p[i] = "https://img.carrot.example/p.jpg"
		}
		return p
	}
	tests := []struct {
		name   string
		change func(*market.ItemDetails)
		want   []string // the fields named by the Invalid error; nil means valid
	}{
		{"valid", func(*market.ItemDetails) {}, nil},

		{"name of 1 character", func(d *market.ItemDetails) { d.Name = "x" }, nil},
		{"name of 100 ASCII characters", func(d *market.ItemDetails) { d.Name = strings.Repeat("a", 100) }, nil},
		{"name of 101 ASCII characters", func(d *market.ItemDetails) { d.Name = strings.Repeat("a", 101) }, []string{"name"}},
		{"name of 100 Hangul syllables (300 bytes)", func(d *market.ItemDetails) { d.Name = hangul(100) }, nil},
		{"name of 101 Hangul syllables", func(d *market.ItemDetails) { d.Name = hangul(101) }, []string{"name"}},
		{"empty name", func(d *market.ItemDetails) { d.Name = "" }, []string{"name"}},
		{"blank name", func(d *market.ItemDetails) { d.Name = " \t\n " }, []string{"name"}},
		{"name that is not UTF-8", func(d *market.ItemDetails) { d.Name = "chair\xff" }, []string{"name"}},

		{"category of 1 character", func(d *market.ItemDetails) { d.Category = "x" }, nil},
		{"category of 50 Hangul syllables", func(d *market.ItemDetails) { d.Category = hangul(50) }, nil},
		{"category of 51 Hangul syllables", func(d *market.ItemDetails) { d.Category = hangul(51) }, []string{"category"}},
		{"empty category", func(d *market.ItemDetails) { d.Category = "" }, []string{"category"}},

		{"free give-away", func(d *market.ItemDetails) { d.Price = 0 }, nil},
		{"price at the maximum", func(d *market.ItemDetails) { d.Price = 1_000_000_000 }, nil},
		{"price over the maximum", func(d *market.ItemDetails) { d.Price = 1_000_000_001 }, []string{"price"}},
		{"negative price", func(d *market.ItemDetails) { d.Price = -1 }, []string{"price"}},

		{"empty description", func(d *market.ItemDetails) { d.Description = "" }, nil},
		{"description of 5000 Hangul syllables", func(d *market.ItemDetails) { d.Description = hangul(5000) }, nil},
		{"description of 5001 Hangul syllables", func(d *market.ItemDetails) { d.Description = hangul(5001) }, []string{"description"}},

		{"empty region", func(d *market.ItemDetails) { d.Region = "" }, nil},
		{"region of 100 characters", func(d *market.ItemDetails) { d.Region = hangul(100) }, nil},
		{"region of 101 characters", func(d *market.ItemDetails) { d.Region = hangul(101) }, []string{"region"}},
		{"region of 5 levels", func(d *market.ItemDetails) { d.Region = "seoul/mapo/hapjeong/a/b" }, nil},
		{"region of 6 levels", func(d *market.ItemDetails) { d.Region = "seoul/mapo/hapjeong/a/b/c" }, []string{"region"}},
		{"region of 50 levels", func(d *market.ItemDetails) { d.Region = strings.Repeat("a/", 49) + "a" }, []string{"region"}},
		{"region with an empty level", func(d *market.ItemDetails) { d.Region = "seoul//mapo" }, []string{"region"}},
		{"region ending in /", func(d *market.ItemDetails) { d.Region = "seoul/" }, []string{"region"}},
		{"region starting with /", func(d *market.ItemDetails) { d.Region = "/seoul" }, []string{"region"}},
		{"region of slashes", func(d *market.ItemDetails) { d.Region = strings.Repeat("/", 100) }, []string{"region"}},
		{"region padded with spaces", func(d *market.ItemDetails) { d.Region = "  seoul/mapo  " }, nil},

		{"no photos (nil)", func(d *market.ItemDetails) { d.Photos = nil }, nil},
		{"no photos (empty)", func(d *market.ItemDetails) { d.Photos = []string{} }, nil},
		{"10 photos", func(d *market.ItemDetails) { d.Photos = photos(10) }, nil},
		{"11 photos", func(d *market.ItemDetails) { d.Photos = photos(11) }, []string{"photos"}},
		{"http photo", func(d *market.ItemDetails) { d.Photos = []string{"http://img.carrot.example/a.png"} }, nil},
		{"ftp photo", func(d *market.ItemDetails) { d.Photos = []string{"ftp://img.carrot.example/a.png"} }, []string{"photos"}},
		{"javascript photo", func(d *market.ItemDetails) { d.Photos = []string{"javascript:alert(1)"} }, []string{"photos"}},
		{"relative photo", func(d *market.ItemDetails) { d.Photos = []string{"/a.png"} }, []string{"photos"}},
		{"photo without host", func(d *market.ItemDetails) { d.Photos = []string{"https://"} }, []string{"photos"}},
		{"photo that is not a URL", func(d *market.ItemDetails) { d.Photos = []string{"a photo of my chair"} }, []string{"photos"}},
		{"empty photo", func(d *market.ItemDetails) { d.Photos = []string{""} }, []string{"photos"}},
		{"bad photo after good ones", func(d *market.ItemDetails) {
			d.Photos = append(photos(3), "file:///etc/passwd")
		}, []string{"photos"}},
		{"overlong photo URL", func(d *market.ItemDetails) {
			d.Photos = []string{"https://img.carrot.example/" + strings.Repeat("a", 2048)}
		}, []string{"photos"}},

		{"every field wrong at once", func(d *market.ItemDetails) {
			*d = market.ItemDetails{
				Name: "", Category: hangul(51), Price: -5, Description: hangul(5001),
				Region: hangul(101), Photos: []string{"nope"},
			}
		}, []string{"name", "category", "price", "description", "region", "photos"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := validDetails()
			tt.change(&d)
			assertFields(t, tt.want, d.Validate())
		})
	}
}

func TestNewItem(t *testing.T) {
	t.Parallel()

	t.Run("lists the item on sale", func(t *testing.T) {
		t.Parallel()
		d := validDetails()
		d.Name, d.Category, d.Photos = "  IKEA POÄNG armchair\t", " furniture ", nil
		it, err := market.NewItem(itemID, seller, d, t0)
		require.NoError(t, err)

		assert.Equal(t, itemID, it.ID())
		assert.Equal(t, seller, it.SellerID())
		assert.Equal(t, market.ItemCreated, it.Status())
		assert.Empty(t, it.RsvID())
		assert.Equal(t, int64(25_000), it.Price())
		assert.Zero(t, it.Score())
		assert.Zero(t, it.ReviewCount())
		assert.Equal(t, t0, it.CreatedAt())
		assert.Equal(t, t0, it.UpdatedAt())
		assert.Equal(t, "IKEA POÄNG armchair", it.Details().Name, "name is stored trimmed")
		assert.Equal(t, "furniture", it.Details().Category, "category is stored trimmed")
		assert.NotNil(t, it.Details().Photos, "no photos is an empty list, never null on the wire")
		assert.Empty(t, it.Details().Photos)
		assert.True(t, it.IsSeller(seller))
		assert.False(t, it.IsSeller(buyer))
		assert.False(t, it.IsSeller(""))
	})

	t.Run("refuses invalid details", func(t *testing.T) {
		t.Parallel()
		d := validDetails()
		d.Price = -1
		it, err := market.NewItem(itemID, seller, d, t0)
		assertFields(t, []string{"price"}, err)
		assert.Nil(t, it)
	})
}

func TestItemUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status market.ItemStatus
		by     string
		patch  market.ItemPatch
		code   market.Code
		fields []string                                             // for Invalid
		check  func(t *testing.T, before, after market.ItemDetails) // for success
	}{
		{name: "seller renames", status: market.ItemCreated, by: seller,
			patch: market.ItemPatch{Name: new("  POÄNG armchair, birch  ")},
			check: func(t *testing.T, before, after market.ItemDetails) {
				want := before
				want.Name = "POÄNG armchair, birch"
				assert.Equal(t, want, after, "only the name changes, trimmed")
			}},
		{name: "seller changes every field", status: market.ItemCreated, by: seller,
			patch: market.ItemPatch{
				Name: new("Desk"), Category: new("office"), Price: new(int64(0)), Description: new(""),
				Region: new("busan/haeundae"), Photos: new([]string{}),
			},
			check: func(t *testing.T, _, after market.ItemDetails) {
				assert.Equal(t, market.ItemDetails{Name: "Desk", Category: "office", Price: 0, Description: "",
					Region: "busan/haeundae", Photos: []string{}}, after)
			}},
		{name: "empty patch keeps everything", status: market.ItemCreated, by: seller,
			check: func(t *testing.T, before, after market.ItemDetails) { assert.Equal(t, before, after) }},
		{name: "seller renames a reserved item", status: market.ItemReserved, by: seller,
			patch: market.ItemPatch{Name: new("Reserved: armchair")},
			check: func(t *testing.T, _, after market.ItemDetails) { assert.Equal(t, "Reserved: armchair", after.Name) }},
		{name: "seller renames a sold item", status: market.ItemSoldOut, by: seller,
			patch: market.ItemPatch{Name: new("Sold: armchair")},
			check: func(t *testing.T, _, after market.ItemDetails) { assert.Equal(t, "Sold: armchair", after.Name) }},
		{name: "same price on a sold item", status: market.ItemSoldOut, by: seller,
			patch: market.ItemPatch{Price: new(int64(25_000))},
			check: func(t *testing.T, before, after market.ItemDetails) { assert.Equal(t, before, after) }},

		{name: "price of a sold item", status: market.ItemSoldOut, by: seller,
			patch: market.ItemPatch{Price: new(int64(1))}, code: market.Conflict},
		{name: "price of a reserved item: agreed at confirmation", status: market.ItemReserved, by: seller,
			patch: market.ItemPatch{Price: new(int64(20_000))}, code: market.Conflict},
		{name: "buyer", status: market.ItemCreated, by: buyer,
			patch: market.ItemPatch{Name: new("mine now")}, code: market.Forbidden},
		{name: "anonymous", status: market.ItemCreated, by: "",
			patch: market.ItemPatch{Name: new("mine now")}, code: market.Forbidden},
		{name: "not the seller, even with a bad field", status: market.ItemCreated, by: other,
			patch: market.ItemPatch{Price: new(int64(-1))}, code: market.Forbidden},

		{name: "empty name", status: market.ItemCreated, by: seller,
			patch: market.ItemPatch{Name: new("")}, code: market.Invalid, fields: []string{"name"}},
		{name: "long category", status: market.ItemCreated, by: seller,
			patch: market.ItemPatch{Category: new(strings.Repeat("c", 51))}, code: market.Invalid, fields: []string{"category"}},
		{name: "negative price", status: market.ItemCreated, by: seller,
			patch: market.ItemPatch{Price: new(int64(-100))}, code: market.Invalid, fields: []string{"price"}},
		{name: "long description", status: market.ItemCreated, by: seller,
			patch: market.ItemPatch{Description: new(strings.Repeat("d", 5001))}, code: market.Invalid, fields: []string{"description"}},
		{name: "long region", status: market.ItemCreated, by: seller,
			patch: market.ItemPatch{Region: new(strings.Repeat("r", 101))}, code: market.Invalid, fields: []string{"region"}},
		{name: "bad photo", status: market.ItemCreated, by: seller,
			patch: market.ItemPatch{Photos: new([]string{"ftp://x/y.jpg"})}, code: market.Invalid, fields: []string{"photos"}},
		{name: "two bad fields", status: market.ItemCreated, by: seller,
			patch: market.ItemPatch{Name: new(""), Price: new(int64(1_000_000_001))}, code: market.Invalid, fields: []string{"name", "price"}},
		{name: "bad field on a sold item is invalid before conflict", status: market.ItemSoldOut, by: seller,
			patch: market.ItemPatch{Price: new(int64(-1))}, code: market.Invalid, fields: []string{"price"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			it := itemAt(tt.status)
			before := it.State()

			err := it.Update(tt.by, tt.patch, t1)
			if tt.code != "" {
				requireRefusal(t, tt.code, tt.fields, err)
				assert.Equal(t, before, it.State(), "a refused update changes nothing")
				return
			}
			require.NoError(t, err)
			tt.check(t, before.Details, it.Details())
			assert.Equal(t, t1, it.UpdatedAt())
			assert.Equal(t, tt.status, it.Status(), "an update never moves the sale")
			assert.Equal(t, before.RsvID, it.RsvID())
		})
	}
}

// TestItemChecks pins who may do what to an item in each status: only its
// seller deletes it, and only while on sale; anyone but the seller may chat
// about it until it is sold, a back-up buyer too.
func TestItemChecks(t *testing.T) {
	t.Parallel()
	del := check[*market.Item]{"delete", (*market.Item).CheckDelete}
	chat := check[*market.Item]{"chat", (*market.Item).CheckChat}

	tests := []struct {
		check  check[*market.Item]
		status market.ItemStatus
		by     string
		want   market.Code
	}{
		{del, market.ItemCreated, seller, ""},
		{del, market.ItemReserved, seller, market.Conflict},
		{del, market.ItemSoldOut, seller, market.Conflict},
		{del, market.ItemCreated, buyer, market.Forbidden},
		{del, market.ItemCreated, "", market.Forbidden},
		{del, market.ItemReserved, other, market.Forbidden},
		{del, market.ItemSoldOut, buyer, market.Forbidden},

		{chat, market.ItemCreated, buyer, ""},
		{chat, market.ItemReserved, other, ""},
		{chat, market.ItemSoldOut, other, market.Conflict},
		{chat, market.ItemCreated, seller, market.Conflict},
		{chat, market.ItemReserved, seller, market.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.check.name+"/"+string(tt.status)+"/by "+tt.by, func(t *testing.T) {
			t.Parallel()
			it := itemAt(tt.status)
			before := it.State()
			requireCode(t, tt.want, tt.check.call(it, tt.by))
			assert.Equal(t, before, it.State(), "a check changes nothing")
		})
	}
}

// saleStep is one call of the sale's state machine on an item.
type saleStep struct {
	name       string
	status     market.ItemStatus // before
	heldBy     string            // before
	call       func(it *market.Item) (bool, error)
	want       market.Code
	changed    bool
	wantStatus market.ItemStatus // after
	wantHeldBy string            // after
}

// TestItemSaleSteps drives the sale's state machine on an item: each step
// answers whether it changed the item, and only a change moves updatedAt.
func TestItemSaleSteps(t *testing.T) {
	t.Parallel()
	reserve := func(rsv string) func(*market.Item) (bool, error) {
		return func(it *market.Item) (bool, error) {
			before, r := it.Status(), confirmedRsv(rsv)
			err := it.Reserve(r, t1)
			if err == nil {
				assert.Equal(t, it.Price(), r.AgreedPrice(), "the price is agreed as the item is held")
			}
			return before != it.Status(), err
		}
	}
	release := func(rsv string) func(*market.Item) (bool, error) {
		return func(it *market.Item) (bool, error) { return it.Release(rsv, t1) }
	}
	sellOut := func(rsv string) func(*market.Item) (bool, error) {
		return func(it *market.Item) (bool, error) { return it.SellOut(rsv, t1) }
	}
	reopen := func(rsv string) func(*market.Item) (bool, error) {
		return func(it *market.Item) (bool, error) { return it.Reopen(rsv, t1) }
	}
	for _, tt := range []saleStep{
		{"reserve: on sale is reserved", market.ItemCreated, "", reserve(rsvA), "", true, market.ItemReserved, rsvA},
		{"reserve: same reservation confirms again", market.ItemReserved, rsvA, reserve(rsvA), "", false, market.ItemReserved, rsvA},
		{"reserve: other reservation loses", market.ItemReserved, rsvA, reserve(rsvB), market.Conflict, false, market.ItemReserved, rsvA},
		{"reserve: sold to another", market.ItemSoldOut, rsvA, reserve(rsvB), market.Conflict, false, market.ItemSoldOut, rsvA},
		{"reserve: sold to the same stays sold", market.ItemSoldOut, rsvA, reserve(rsvA), "", false, market.ItemSoldOut, rsvA},

		{"release: holder deleted: on sale again", market.ItemReserved, rsvA, release(rsvA), "", true, market.ItemCreated, ""},
		{"release: redelivered: already on sale", market.ItemCreated, "", release(rsvA), "", false, market.ItemCreated, ""},
		{"release: back-up buyer's chat deleted", market.ItemReserved, rsvA, release(rsvB), "", false, market.ItemReserved, rsvA},
		{"release: sold item is not released", market.ItemSoldOut, rsvA, release(rsvA), market.Conflict, false, market.ItemSoldOut, rsvA},
		{"release: other chat of a sold item", market.ItemSoldOut, rsvA, release(rsvB), "", false, market.ItemSoldOut, rsvA},

		{"sell out: holder paid", market.ItemReserved, rsvA, sellOut(rsvA), "", true, market.ItemSoldOut, rsvA},
		{"sell out: redelivered", market.ItemSoldOut, rsvA, sellOut(rsvA), "", false, market.ItemSoldOut, rsvA},
		{"sell out: not the holder", market.ItemReserved, rsvA, sellOut(rsvB), market.Conflict, false, market.ItemReserved, rsvA},
		{"sell out: on sale", market.ItemCreated, "", sellOut(rsvA), market.Conflict, false, market.ItemCreated, ""},
		{"sell out: sold to another", market.ItemSoldOut, rsvA, sellOut(rsvB), market.Conflict, false, market.ItemSoldOut, rsvA},

		{"reopen: payment cancelled: reserved again, same holder", market.ItemSoldOut, rsvA, reopen(rsvA), "", true, market.ItemReserved, rsvA},
		{"reopen: redelivered", market.ItemReserved, rsvA, reopen(rsvA), "", false, market.ItemReserved, rsvA},
		{"reopen: not the holder", market.ItemSoldOut, rsvA, reopen(rsvB), market.Conflict, false, market.ItemSoldOut, rsvA},
		{"reopen: on sale", market.ItemCreated, "", reopen(rsvA), market.Conflict, false, market.ItemCreated, ""},

		// The sale only moves through a reservation: an empty reservation id
		// must never sell, reopen or release an item that no reservation holds.
		{"sell out unheld", market.ItemCreated, "", sellOut(""), market.Conflict, false, market.ItemCreated, ""},
		{"reopen unheld", market.ItemCreated, "", reopen(""), market.Conflict, false, market.ItemCreated, ""},
		{"release unheld", market.ItemCreated, "", release(""), "", false, market.ItemCreated, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			it := itemIn(tt.status, tt.heldBy)
			changed, err := tt.call(it)
			requireCode(t, tt.want, err)
			assert.Equal(t, tt.changed, changed, "changed")
			assert.Equal(t, tt.wantStatus, it.Status())
			assert.Equal(t, tt.wantHeldBy, it.RsvID())
			if tt.changed {
				assert.Equal(t, t1, it.UpdatedAt())
			} else {
				assert.Equal(t, t0, it.UpdatedAt(), "no change, no new updatedAt")
			}
		})
	}
}

func TestItemLifecycle(t *testing.T) {
	t.Parallel()
	it := MustItem(t)

	require.NoError(t, it.Reserve(confirmedRsv(rsvA), t1))
	requireCode(t, market.Conflict, it.Reserve(confirmedRsv(rsvB), t1))
	requireCode(t, market.Conflict, it.CheckDelete(seller))

	changed, err := it.SellOut(rsvA, t1)
	require.NoError(t, err)
	require.True(t, changed)
	requireCode(t, market.Conflict, it.CheckChat(other))
	requireCode(t, market.Conflict, it.CheckDelete(seller))

	changed, err = it.Reopen(rsvA, t2)
	require.NoError(t, err)
	require.True(t, changed)
	assert.Equal(t, market.ItemReserved, it.Status())
	assert.Equal(t, rsvA, it.RsvID())

	changed, err = it.Release(rsvA, t2)
	require.NoError(t, err)
	require.True(t, changed)
	assert.Equal(t, market.ItemCreated, it.Status())
	assert.NoError(t, it.CheckDelete(seller))
	assert.NoError(t, it.Reserve(confirmedRsv(rsvB), t2), "on sale again, another buyer's reservation may hold it")
}

func TestItemScore(t *testing.T) {
	t.Parallel()
	it := MustItem(t)
	assert.Zero(t, it.Score(), "no review, score 0")
	assert.Zero(t, it.ReviewCount())

	it.AddReview(5, t1)
	assert.InDelta(t, 5.0, it.Score(), 1e-9)
	it.AddReview(4, t2)
	assert.InDelta(t, 4.5, it.Score(), 1e-9)
	it.AddReview(1, t2)
	assert.InDelta(t, 10.0/3, it.Score(), 1e-9)
	assert.Equal(t, 3, it.ReviewCount())
	assert.Equal(t, t2, it.UpdatedAt())
	assert.Equal(t, 10, it.State().ScoreSum)
}

func TestItemStateRoundTrip(t *testing.T) {
	t.Parallel()
	s := market.ItemState{
		ID: itemID, SellerID: seller, Details: validDetails(), Status: market.ItemSoldOut, RsvID: rsvA,
		ScoreSum: 9, ReviewCount: 2, Version: 7, CreatedAt: t0, UpdatedAt: t2,
	}
	// The score sum has no accessor of its own; Score, its mean, is checked below.
	assertRoundTrip(t, s, market.RestoreItem, func(it *market.Item) market.ItemState {
		return market.ItemState{ID: it.ID(), SellerID: it.SellerID(), Details: it.Details(), Status: it.Status(), RsvID: it.RsvID(),
			ScoreSum: s.ScoreSum, ReviewCount: it.ReviewCount(), Version: it.Version(), CreatedAt: it.CreatedAt(), UpdatedAt: it.UpdatedAt()}
	})
	it := market.RestoreItem(s)
	assert.Equal(t, s.Details.Price, it.Price())
	assert.InDelta(t, 4.5, it.Score(), 1e-9)

	fresh := MustItem(t)
	assert.Equal(t, fresh.State(), market.RestoreItem(fresh.State()).State())
}

// TestStoredTextWithinLimits pins that a stored text never exceeds the limit
// its field promises, whatever whitespace surrounds it.
func TestStoredTextWithinLimits(t *testing.T) {
	t.Parallel()
	pad := strings.Repeat(" ", 100)

	d := validDetails()
	d.Description = strings.Repeat("가", market.MaxItemDescription) + pad
	it, err := market.NewItem(itemID, seller, d, t0)
	if err == nil {
		assert.LessOrEqual(t, utf8.RuneCountInString(it.Details().Description), market.MaxItemDescription)
	}

	msg, err := rsvIn(market.RsvCreated, "").PostMessage("m-1", buyer, strings.Repeat("a", market.MaxMessageText)+pad, t1)
	if err == nil {
		assert.LessOrEqual(t, utf8.RuneCountInString(msg.Text), market.MaxMessageText)
	}
}

// TestItemFollow: an item follows the reservation that holds it, as
// storage has it, whatever event brought the policy there.
func TestItemFollow(t *testing.T) {
	t.Parallel()
	gone := (*market.Reservation)(nil)
	for _, tt := range []struct {
		name       string
		item       market.ItemStatus
		rsvID      string
		holder     *market.Reservation
		changed    bool
		wantStatus market.ItemStatus
	}{
		{"paid holder: sold", market.ItemReserved, rsvA, rsvAt(market.RsvCompleted), true, market.ItemSoldOut},
		{"paid holder of a sold item: nothing", market.ItemSoldOut, rsvA, rsvAt(market.RsvCompleted), false, market.ItemSoldOut},
		{"holder confirmed again: reserved", market.ItemSoldOut, rsvA, rsvAt(market.RsvConfirmed), true, market.ItemReserved},
		{"confirmed holder of a reserved item: nothing", market.ItemReserved, rsvA, rsvAt(market.RsvConfirmed), false, market.ItemReserved},
		{"holder gone: on sale", market.ItemReserved, rsvA, gone, true, market.ItemCreated},
		{"holder gone from a sold item: on sale", market.ItemSoldOut, rsvA, gone, true, market.ItemCreated},
		{"another reservation: nothing", market.ItemReserved, rsvB, gone, false, market.ItemReserved},
		{"on sale: nothing", market.ItemCreated, rsvA, rsvAt(market.RsvCompleted), false, market.ItemCreated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			it := itemAt(tt.item)
			changed, err := it.Follow(tt.rsvID, tt.holder, t1)
			require.NoError(t, err)
			assert.Equal(t, tt.changed, changed)
			assert.Equal(t, tt.wantStatus, it.Status())
			if tt.wantStatus == market.ItemCreated {
				assert.Empty(t, it.RsvID())
			}
		})
	}
}
