package app_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

func TestSearchTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string
	}{
		{"latin words, lower-cased whole", "iPhone 12 Pro", []string{"12", "iphone", "pro"}},
		{"hangul as bigrams", "아이폰케이스", []string{"아이", "이스", "이폰", "케이", "폰케"}},
		{"a one-syllable hangul word as itself", "폰 케이스", []string{"이스", "케이", "폰"}},
		{"a change of kind cuts a word", "아이폰12 iPhone12", []string{"12", "iphone", "아이", "이폰"}},
		{"full-width letters and decomposed syllables normalised", "ＩＰＨＯＮＥ \u1100\u1161\u1102\u1161", []string{"iphone", "가나"}},
		{"punctuation separates", "desk,chair/lamp!", []string{"chair", "desk", "lamp"}},
		{"each token once", "pro pro Pro", []string{"pro"}},
		{"nothing", " -!? ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, app.SearchTokens(tt.text, ""))
		})
	}
}

func TestSearchMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		q, name, description string
		want                 bool
	}{
		{"아이폰", "아이폰 12 프로", "", true},
		{"iphone", "iPhone 12", "", true},
		{"아이폰 프로", "아이폰 12 프로", "", true},
		{"아이폰 프로", "아이폰 12", "", false},
		{"IPHONE", "sale", "an iphone, barely used", true},
		{"아이폰", "아이폰케이스", "", true},
		{"케이스", "아이폰케이스", "", true},
		{"아이폰", "아이 폰", "", false},
		{"아폰", "아이폰", "", false},
		{"이폰아", "아이폰 아이", "", false}, // its bigrams are there, the word is not
		{"폰", "아이폰", "", false},
		{"폰", "폰 케이스", "", true},
		{"iph", "iPhone", "", false},
		{"12", "iPhone 128", "", false},
		{"iphone12", "iPhone 12", "", true},
		{"bicycle", "bicycles", "", false},
		{"", "anything", "", true},
		{"!!", "anything", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.q+" in "+tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, app.ParseSearch(tt.q).Matches(tt.name, tt.description))
		})
	}
}

func TestSearchKey(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "iphone", app.ParseSearch("아이폰 iPhone 12").Key())
	assert.Equal(t, "", app.ParseSearch("?").Key())
}

func TestParseSearchKeepsEachWordOnce(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"a", "1"}, app.ParseSearch(strings.Repeat("a1", 50)).Words)
	assert.Equal(t, []string{"pro", "아이폰"}, app.ParseSearch("Pro 아이폰 pro PRO 아이폰").Words)
}

// A search may hold MaxQueryWords words, each counted once; one more is
// refused naming q, before any read.
func TestItemsRefusesTooManyWords(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	words := strings.Fields("one two three four five six seven eight nine ten eleven")
	for _, tc := range []struct {
		q  string
		ok bool
	}{
		{strings.Join(words[:app.MaxQueryWords], " "), true},
		{strings.Join(words[:app.MaxQueryWords+1], " "), false},
		{strings.Repeat("a1", app.MaxQuery/2), true},   // a hundred words, two distinct
		{strings.Repeat("\uFDFA", app.MaxQuery), true}, // each is four words after NFKC
		{"a1b2c3d4e5f6", false},                        // twelve words
	} {
		_, _, err := s.cmd.Items(t.Context(), app.ItemFilter{Query: tc.q}, app.Page{})
		if tc.ok {
			assert.NoError(t, err, "%.20q", tc.q)
			continue
		}
		assert.Equal(t, market.Invalid, market.ErrorCode(err), "%.20q", tc.q)
		assert.Equal(t, []string{"q"}, fields(err), "the problem names q")
	}

	_, _, err := s.cmd.Items(t.Context(), app.ItemFilter{Region: strings.Repeat("r", 101), Query: strings.Join(words, " ")}, app.Page{})
	assert.Equal(t, []string{"region", "q"}, fields(err), "a bad region does not hide the words")
}
