package app_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/functions/app"
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
