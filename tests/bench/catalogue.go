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

// products give an item's category, the words of its name and the words
// that follow it, as sellers write them ("아이폰 프로", "원목 책상" the other
// way round is not modelled).
var products = []struct {
	category, ko, en string
	modifiers        []string
}{
	{"digital", "아이폰", "iPhone", []string{"프로", "pro", "미니", "12", "13"}},
	{"digital", "갤럭시", "Galaxy", []string{"울트라", "ultra", "s23", "폴드"}},
	{"digital", "노트북", "laptop", []string{"프로", "pro", "15인치", "gaming"}},
	{"digital", "에어팟", "AirPods", []string{"프로", "pro", "2세대", "max"}},
	{"furniture", "책상", "desk", []string{"원목", "oak", "1200", "white"}},
	{"furniture", "의자", "chair", []string{"원목", "사무용", "office", "white"}},
	{"furniture", "소파", "sofa", []string{"3인용", "가죽", "leather", "grey"}},
	{"sports", "자전거", "bicycle", []string{"미니벨로", "로드", "road", "kids"}},
	{"sports", "캠핑 의자", "camping chair", []string{"접이식", "folding", "2개", "blue"}},
	{"kids", "유모차", "stroller", []string{"절충형", "휴대용", "compact", "새상품"}},
	{"kids", "장난감", "toy", []string{"레고", "lego", "블록", "새상품"}},
	{"books", "소설책", "novel", []string{"세트", "set", "중고", "hardcover"}},
	{"clothes", "패딩", "padded jacket", []string{"롱", "long", "새상품", "black"}},
	{"kitchen", "전기밥솥", "rice cooker", []string{"6인용", "10인용", "쿠쿠", "중고"}},
}

// phrases make up descriptions.
var (
	phrases = []string{
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
	name += " " + p.modifiers[rng.IntN(len(p.modifiers))]
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
