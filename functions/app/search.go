package app

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Keyword search (SPEC 3.6): q holds words, and an item matches when its
// name or description holds every one of them, whatever the case. Korean
// writes compounds without spaces ("아이폰케이스"), so a word is not found
// by splitting the item's text on spaces: the item is cut into tokens, and
// a query word matches when all of its tokens are among the item's and the
// item's text holds the word itself. Adapters may index the tokens as they
// like (infra/dynamo keeps a row per token), but all of them answer with
// Search.Matches.
//
// The text is normalised first (NFKC, then lower case), so that a
// decomposed Hangul syllable, a full-width letter and a capital all match
// their plain form. It is then cut into runs of one kind, Hangul, other
// letters or digits; anything else separates runs, and so does a change of
// kind ("iPhone12" is "iphone" and "12"; "아이폰12" is "아이폰" and "12").
//   - A Hangul run of two syllables or more gives its overlapping bigrams
//     ("아이폰케이스": 아이, 이폰, 폰케, 케이, 이스). This is the standard
//     dictionary-free answer: a query word of two syllables or more is found
//     inside any compound that holds it, and the check that the text holds
//     the whole word drops the items that only hold its bigrams apart.
//   - A Hangul run of one syllable is its own token. So a one-syllable query
//     word ("폰") matches an item that writes that syllable alone ("폰
//     케이스"), not one that holds it inside a longer run ("아이폰"): indexing
//     every syllable too would double the rows of an item to find words too
//     short to mean much.
//   - Any other run (Latin or another script, or digits) is one token, the
//     whole word: "iphone" finds "iPhone 12" but "iph" finds nothing and
//     "12" does not find "128". Indexing prefixes would multiply an item's
//     rows by its words' lengths.

// Search is a parsed query: the words to find, each normalised as the
// items' text is.
type Search struct {
	Words []string
}

// ParseSearch parses the query q. A q with no letter or digit has no
// words, and a Search with no words matches every item. A word given
// twice is kept once, in the place it first has: it asks nothing more.
func ParseSearch(q string) Search {
	var words []string
	for _, w := range runs(normalise(q)) {
		if !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	return Search{Words: words}
}

// Empty reports whether s has no words.
func (s Search) Empty() bool { return len(s.Words) == 0 }

// Tokens returns the tokens every matching item has, sorted, each once.
func (s Search) Tokens() []string { return tokensOf(s.Words) }

// Key returns the token that an index of tokens best reads to answer s:
// the longest, as the rarest one is not known; "" when s is empty.
func (s Search) Key() string {
	var key string
	for _, t := range s.Tokens() {
		if len([]rune(t)) > len([]rune(key)) {
			key = t
		}
	}
	return key
}

// Matches reports whether an item of that name and description holds
// every word of s.
func (s Search) Matches(name, description string) bool {
	text := SearchText(name, description)
	tokens := SearchTokens(name, description)
	for _, w := range s.Words {
		if !strings.Contains(text, w) {
			return false
		}
	}
	for _, t := range s.Tokens() {
		if _, found := slices.BinarySearch(tokens, t); !found {
			return false
		}
	}
	return true
}

// SearchText returns the text in which query words are looked for: the
// name and description, normalised, on two lines (so that no word spans
// them).
func SearchText(name, description string) string {
	return normalise(name + "\n" + description)
}

// SearchTokens returns the tokens of an item of that name and description,
// sorted, each once.
func SearchTokens(name, description string) []string {
	return tokensOf(runs(SearchText(name, description)))
}

func normalise(s string) string { return strings.ToLower(norm.NFKC.String(s)) }

// runKind is the kind of run a rune belongs to; 0 separates runs.
func runKind(r rune) int {
	switch {
	case unicode.Is(unicode.Hangul, r):
		return 1
	case unicode.IsDigit(r):
		return 2
	case unicode.IsLetter(r) || unicode.IsMark(r):
		return 3
	}
	return 0
}

// runs cuts normalised text into runs of one kind.
func runs(text string) []string {
	var out []string
	start, kind := 0, 0
	for i, r := range text {
		k := runKind(r)
		if k == kind {
			continue
		}
		if kind != 0 {
			out = append(out, text[start:i])
		}
		start, kind = i, k
	}
	if kind != 0 {
		out = append(out, text[start:])
	}
	return out
}

// tokensOf returns the tokens of the runs, sorted, each once.
func tokensOf(words []string) []string {
	var out []string
	for _, w := range words {
		syllables := []rune(w)
		if runKind(syllables[0]) != 1 || len(syllables) == 1 {
			out = append(out, w)
			continue
		}
		for i := range len(syllables) - 1 {
			out = append(out, string(syllables[i:i+2]))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
