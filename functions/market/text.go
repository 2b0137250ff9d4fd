package market

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A text is what a person writes and another reads: an item's name,
// category, description and region, a meeting place, a chat message, a
// review's comment, and, held to a stricter rule, a user id. One rule
// (text.check) applies to all of them, so that what is stored is what a
// reader sees:
//   - it is valid UTF-8;
//   - it holds no control character (Unicode category Cc, such as NUL,
//     BEL, ESC, CR), except a newline and a tab in a multi-line text;
//   - it holds no line or paragraph separator (U+2028, U+2029) and no
//     invisible formatting character (category Cf), which includes the
//     bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
//     U+2066–U+2069) and the zero-width space, except the zero-width
//     joiner and non-joiner that emoji and some scripts need;
//   - it holds no character Unicode marks as ignorable filler, such as
//     U+3164 HANGUL FILLER and its kin U+115F, U+1160 and U+FFA0;
//   - a text that may not be empty shows at least one visible character:
//     spaces, marks, joiners and U+2800 BRAILLE PATTERN BLANK alone are
//     blank;
//   - its length, counted in characters (code points), not bytes, is
//     within its limits.
//
// A one-line text is stored without white space at either end (it carries
// nothing a reader sees), and its limits count what is stored; a
// multi-line text is stored as written, its layout being the writer's.
type text struct {
	min, max  int
	multiLine bool
}

// The texts of the domain, by field.
var (
	itemName        = text{min: 1, max: MaxItemName}
	itemCategory    = text{min: 1, max: MaxItemCategory}
	itemDescription = text{max: MaxItemDescription, multiLine: true}
	itemRegion      = text{max: MaxItemRegion}
	photoURL        = text{max: maxPhotoURL}
	meetingPlace    = text{max: MaxRsvPlace}
	messageText     = text{min: 1, max: MaxMessageText, multiLine: true}
	reviewComment   = text{max: MaxReviewComment, multiLine: true}
	userID          = text{min: 1, max: MaxUserID}
)

// MaxUserID is the longest user id, in characters.
const MaxUserID = 128

// check adds to f why s, the value of field, breaks the rule of t, if it
// does; it names the first problem only. A one-line s is checked as it is
// stored, without white space at either end (see stored).
func (t text) check(f *Fields, field, s string) {
	if !utf8.ValidString(s) {
		f.Add(field, "must be valid UTF-8")
		return
	}
	s = t.stored(s)
	for _, r := range s {
		if msg := t.refuse(r); msg != "" {
			f.Add(field, msg, r)
			return
		}
	}
	switch n := utf8.RuneCountInString(s); {
	case t.min > 0 && n == 0:
		f.Add(field, "is required")
	case t.min > 0 && !hasVisible(s):
		f.Add(field, "must show at least one visible character")
	case n < t.min || n > t.max:
		f.Add(field, "must be %d to %d characters", t.min, t.max)
	}
}

// stored is s as it is kept: without white space at either end when t is
// one line.
func (t text) stored(s string) string {
	if t.multiLine {
		return s
	}
	return strings.TrimSpace(s)
}

// refuse returns the message, with a %U verb for r, of a character t may
// not hold, or "" when it may hold r.
func (t text) refuse(r rune) string {
	switch {
	case r == '\n' || r == '\t':
		if t.multiLine {
			return ""
		}
		return "must be one line: %U is not allowed"
	case unicode.Is(unicode.Cc, r):
		return "must not hold the control character %U"
	case r == zeroWidthJoiner || r == zeroWidthNonJoiner:
		return ""
	case unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point):
		return "must not hold the invisible character %U"
	}
	return ""
}

const (
	zeroWidthNonJoiner = '\u200c'
	zeroWidthJoiner    = '\u200d'
	brailleBlank       = '\u2800'
)

// hasVisible reports whether s holds a character that prints something:
// not a space or separator, a control, a mark that needs a base, a
// formatting character or a blank braille cell.
func hasVisible(s string) bool {
	for _, r := range s {
		if !unicode.In(r, unicode.M, unicode.Cc, unicode.Cf, unicode.Z) && r != brailleBlank {
			return true
		}
	}
	return false
}

// IsUserID reports whether id is a user id: a one-line text of 1 to
// MaxUserID characters that shows something, with no white space at all,
// so that an id reads the same wherever it is printed. Every user id that
// enters carrot, from a token of either kind or from a query, obeys it.
func IsUserID(id string) bool {
	var f Fields
	userID.check(&f, "userId", id)
	return len(f) == 0 && !strings.ContainsFunc(id, unicode.IsSpace)
}

// UserIDRule says what IsUserID requires, as the message of a field.
const UserIDRule = "must be a user id: 1 to 128 visible characters without spaces, control or formatting characters"

// MaxID is the longest id of an item, reservation, payment or review.
const MaxID = 64

// IsID reports whether id has the form of an id of an item, a
// reservation, a payment or a review: 1 to MaxID ASCII letters, digits,
// '-' or '_'. Carrot's own ids (UUIDs) and the seed's numeric ids have
// it; anything else names nothing and never reaches storage.
func IsID(id string) bool {
	if id == "" || len(id) > MaxID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// IDRule says what IsID requires, as the message of a field.
const IDRule = "must be an id: 1 to 64 ASCII letters, digits, '-' or '_'"
