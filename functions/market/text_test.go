package market_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/functions/market"
)

// ok and refused read better than true and false in the tables below.
const ok, refused = true, false

// TestTextRule runs each class of text through the one rule as three
// fields hold it: an item's name (one line, required), a chat message
// (several lines, required) and a user id (one word).
func TestTextRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                   string
		value                  string
		oneLine, lines, userID bool
	}{
		{"plain words", "IKEA armchair", ok, ok, refused},
		{"Hangul", "아이폰 12 프로", ok, ok, refused},
		{"one word", "seller-1", ok, ok, ok},
		{"Hangul word", "당근마켓", ok, ok, ok},
		{"emoji joined by ZWJ", "👨\u200d👩\u200d👧", ok, ok, ok},
		{"emoji with a variation selector", "\u2764\ufe0f", ok, ok, ok},
		{"zero-width non-joiner in Persian", "می\u200cخواهم", ok, ok, ok},
		{"private-use glyph", "\uf8ff", ok, ok, ok},
		{"spaces around", "  chair  ", ok, ok, refused},
		{"128 Hangul syllables", strings.Repeat("가", market.MaxUserID), refused, ok, ok},
		{"129 ASCII letters", strings.Repeat("u", market.MaxUserID+1), refused, ok, refused},
		{"129 Hangul syllables", strings.Repeat("가", market.MaxUserID+1), refused, ok, refused},

		{"NUL", "chair\x00", refused, refused, refused},
		{"BEL", "chair\a", refused, refused, refused},
		{"ESC", "\x1b[31mred", refused, refused, refused},
		{"DEL", "chair\x7f", refused, refused, refused},
		{"C1 control NEL", "a\u0085b", refused, refused, refused},
		{"carriage return", "two\r\nlines", refused, refused, refused},
		{"newline", "two\nlines", refused, ok, refused},
		{"tab", "a\tb", refused, ok, refused},
		{"line separator", "a\u2028b", refused, refused, refused},
		{"paragraph separator", "a\u2029b", refused, refused, refused},

		{"right-to-left override", "\u202eriahc", refused, refused, refused},
		{"right-to-left embedding", "a\u202bb", refused, refused, refused},
		{"pop directional formatting", "a\u202c", refused, refused, refused},
		{"left-to-right mark", "chair\u200e", refused, refused, refused},
		{"right-to-left mark", "chair\u200f", refused, refused, refused},
		{"Arabic letter mark", "\u061cchair", refused, refused, refused},
		{"directional isolate", "\u2066chair\u2069", refused, refused, refused},
		{"zero-width space inside", "ch\u200bair", refused, refused, refused},
		{"byte order mark", "\ufeffchair", refused, refused, refused},
		{"soft hyphen", "ch\u00adair", refused, refused, refused},
		{"Hangul filler inside", "의자\u3164", refused, refused, refused},

		{"empty", "", refused, refused, refused},
		{"only spaces", "   ", refused, refused, refused},
		{"only ideographic spaces", "\u3000\u3000", refused, refused, refused},
		{"only newlines", "\n\n", refused, refused, refused},
		{"only zero-width spaces", "\u200b\u200b\u200b", refused, refused, refused},
		{"only a zero-width joiner", "\u200d", refused, refused, refused},
		{"only U+3164 HANGUL FILLER", "\u3164\u3164", refused, refused, refused},
		{"only U+115F HANGUL CHOSEONG FILLER", "\u115f", refused, refused, refused},
		{"only U+1160 HANGUL JUNGSEONG FILLER", "\u1160", refused, refused, refused},
		{"only U+FFA0 HALFWIDTH HANGUL FILLER", "\uffa0", refused, refused, refused},
		{"only U+2800 BRAILLE PATTERN BLANK", "\u2800\u2800", refused, refused, refused},
		{"only a combining mark", "\u0301", refused, refused, refused},
		{"invalid UTF-8", "chair\xff", refused, refused, refused},
		{"encoded surrogate", "chair\xed\xa0\x80", refused, refused, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := validDetails()
			d.Name = tt.value
			assertValid(t, tt.oneLine, []string{"name"}, d.Validate())

			_, err := rsvAt(market.RsvCreated).PostMessage("m-1", buyer, tt.value, t1)
			assertValid(t, tt.lines, []string{"text"}, err)

			assert.Equal(t, tt.userID, market.IsUserID(tt.value), "user id %q", tt.value)
		})
	}
}

// A one-line text is stored, and measured, without white space at either
// end; a multi-line text is stored as written.
func TestTextStored(t *testing.T) {
	t.Parallel()
	d := validDetails()
	d.Name = "  " + strings.Repeat("가", market.MaxItemName) + "  "
	d.Region = " " + strings.Repeat("r", market.MaxItemRegion) + "\t"
	d.Description = "  first line\n\tsecond line\n"
	it, err := market.NewItem(itemID, seller, d, t0)
	requireCode(t, "", err)
	assert.Equal(t, strings.Repeat("가", market.MaxItemName), it.Details().Name, "a one-line text is stored trimmed")
	assert.Equal(t, strings.Repeat("r", market.MaxItemRegion), it.Details().Region)
	assert.Equal(t, d.Description, it.Details().Description, "a multi-line text is stored as written")

	r, err := market.RequestChat(rsvA, itemAt(market.ItemCreated), buyer, "  Hapjeong station  ", t1)
	requireCode(t, "", err)
	assert.Equal(t, "Hapjeong station", r.Meeting().Place)
}

// Carrot's own ids and the seed's numeric ids have the form of an id;
// nothing longer than MaxID or with other characters does.
func TestIsID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id string
		ok bool
	}{
		{"0190a6e2-7c1d-7b5e-9a3f-2c4d5e6f7a8b", ok},
		{"1", ok},
		{"12345678901234567890", ok},
		{"item-1", ok},
		{"id_000001", ok},
		{strings.Repeat("9", market.MaxID), ok},
		{strings.Repeat("9", market.MaxID+1), refused},
		{strings.Repeat("a", 2049), refused},
		{"", refused},
		{"item 1", refused},
		{"item/1", refused},
		{"item.1", refused},
		{"../items", refused},
		{"아이템", refused},
		{"item\x00", refused},
		{"item\u200b", refused},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, market.IsID(tt.id), "%q", tt.id)
	}
}
