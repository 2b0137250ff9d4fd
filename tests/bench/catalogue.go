package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/carrot-market/carrot/functions/market"
)

// The catalogue of measurement 8: items written straight into the tables,
// spread over regions with sub-regions and over categories, named and
// described in Korean and English as people list things. Item i is the
// same in every run, so catalogues of growing size nest: the first 1,000
// items of 10,000 are the catalogue of 1,000.

// regions are where items are listed; "seoul" holds half of them.
var regions = []string{
	"seoul/mapo", "seoul/gangnam", "seoul/songpa", "seoul/mapo/hapjeong",
	"busan/haeundae", "busan/suyeong", "incheon/yeonsu", "daegu/suseong",
}

// products give an item's category and the words of its name.
var products = []struct{ category, ko, en string }{
	{"digital", "아이폰", "iPhone"}, {"digital", "갤럭시", "Galaxy"}, {"digital", "노트북", "laptop"},
	{"digital", "에어팟", "AirPods"}, {"furniture", "책상", "desk"}, {"furniture", "의자", "chair"},
	{"furniture", "소파", "sofa"}, {"sports", "자전거", "bicycle"}, {"sports", "캠핑 의자", "camping chair"},
	{"kids", "유모차", "stroller"}, {"kids", "장난감", "toy"}, {"books", "소설책", "novel"},
	{"clothes", "패딩", "padded jacket"}, {"kitchen", "전기밥솥", "rice cooker"},
}

// modifiers follow a product's name; descriptions are drawn from phrases.
var (
	modifiers = []string{"프로", "pro", "미니", "mini", "12", "13", "새상품", "중고", "원목", "white"}
	phrases   = []string{
		"거의 새것입니다", "직거래 선호합니다", "박스 포함", "생활 기스 조금 있어요", "네고 가능",
		"like new", "pick up only", "barely used", "comes with the box", "price is firm",
	}
)

// Sparse is the category of one item in a thousand (item 999 of each
// thousand), for the sparse filter.
const sparseCategory = "antiques"

// profiledSeller lists every 25th item, so that their profile fills a
// page at every size; the other items belong to one of 500 sellers.
const profiledSeller = "seller-profiled"

// catalogueStart is when item 0 was listed; item i a second later than
// item i-1, so the newest items are the last seeded.
var catalogueStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// catalogueItem returns item i of the catalogue.
func catalogueItem(i int) (market.ItemState, error) {
	rng := rand.New(rand.NewPCG(13, uint64(i)))
	p := products[rng.IntN(len(products))]
	category := p.category
	if i%1000 == 999 {
		category = sparseCategory
	}
	seller := fmt.Sprintf("seller-%03d", rng.IntN(500))
	if i%25 == 0 {
		seller = profiledSeller
	}
	name := p.ko
	if rng.IntN(2) == 0 {
		name = p.en
	}
	name += " " + modifiers[rng.IntN(len(modifiers))]
	description := strings.Join([]string{phrases[rng.IntN(len(phrases))], phrases[rng.IntN(len(phrases))]}, ". ")
	at := catalogueStart.Add(time.Duration(i) * time.Second)
	it, err := market.NewItem(fmt.Sprintf("item-%07d", i), seller, market.ItemDetails{
		Name: name, Description: description, Category: category,
		Price: int64(1000 * (1 + rng.IntN(500))), Region: regions[rng.IntN(len(regions))],
	}, at)
	if err != nil {
		return market.ItemState{}, err
	}
	return it.State(), nil
}
