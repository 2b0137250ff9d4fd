package market

import (
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ItemStatus is where an item stands in its sale (seed names kept).
type ItemStatus string

const (
	ItemCreated  ItemStatus = "CREATED"  // on sale
	ItemReserved ItemStatus = "RESERVED" // held by a confirmed reservation
	ItemSoldOut  ItemStatus = "SOLDOUT"  // that reservation is paid
)

// Field limits of an item.
const (
	MaxItemName        = 100
	MaxItemCategory    = 50
	MaxItemPrice       = 1_000_000_000
	MaxItemDescription = 5000
	MaxItemRegion      = 100
	MaxRegionLevels    = 5 // "seoul/mapo/hapjeong" is 3
	MaxItemPhotos      = 10
	maxPhotoURL        = 2048
)

// ItemDetails is what a seller writes about an item.
type ItemDetails struct {
	Name        string
	Category    string
	Price       int64 // won; 0 is a free give-away
	Description string
	Region      string // e.g. "seoul/mapo"
	Photos      []string
}

// Validate names every field that breaks its rule.
func (d ItemDetails) Validate() error {
	var f Fields
	itemName.check(&f, "name", d.Name)
	itemCategory.check(&f, "category", d.Category)
	if d.Price < 0 || d.Price > MaxItemPrice {
		f.Add("price", "must be between 0 and %d won", MaxItemPrice)
	}
	itemDescription.check(&f, "description", d.Description)
	if itemRegion.check(&f, "region", d.Region); !f.Has("region") {
		checkRegionLevels(&f, itemRegion.stored(d.Region))
	}
	if len(d.Photos) > MaxItemPhotos {
		f.Add("photos", "at most %d photos", MaxItemPhotos)
	}
	for _, p := range d.Photos {
		var photo Fields
		if photoURL.check(&photo, "photos", p); len(photo) == 0 && !isPhotoURL(p) {
			photo.Add("photos", "%q is not an http or https URL", truncate(p, 80))
		}
		if len(photo) > 0 {
			f = append(f, photo...)
			break
		}
	}
	return f.Err()
}

// checkRegionLevels adds to f why a region is not at most MaxRegionLevels
// names from the widest to the narrowest, separated by "/". An item is
// listed in the feeds of each level, all written in the transaction that
// saves it, so its levels bound that transaction's size.
func checkRegionLevels(f *Fields, region string) {
	if region == "" {
		return
	}
	names := strings.Split(region, "/")
	if len(names) > MaxRegionLevels || slices.Contains(names, "") {
		f.Add("region", "must be at most %d names separated by /, none of them empty", MaxRegionLevels)
	}
}

// ItemPatch changes the fields it sets and keeps the others.
type ItemPatch struct {
	Name        *string
	Category    *string
	Price       *int64
	Description *string
	Region      *string
	Photos      *[]string
}

// Item is a seller's listing. Its fields change only through its methods,
// which enforce the sale's state machine.
type Item struct {
	id          string
	sellerID    string
	details     ItemDetails
	status      ItemStatus
	rsvID       string // the reservation holding the item while RESERVED or SOLDOUT
	scoreSum    int
	reviewCount int
	version     int64
	createdAt   time.Time
	updatedAt   time.Time
}

// NewItem lists a new item on sale.
func NewItem(id, sellerID string, d ItemDetails, now time.Time) (*Item, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &Item{id: id, sellerID: sellerID, details: d.normalized(), status: ItemCreated, createdAt: now, updatedAt: now}, nil
}

// ItemState is the stored form of an item, for adapters only.
type ItemState struct {
	ID          string
	SellerID    string
	Details     ItemDetails
	Status      ItemStatus
	RsvID       string
	ScoreSum    int
	ReviewCount int
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// RestoreItem rebuilds an item from storage without checking its rules.
func RestoreItem(s ItemState) *Item {
	return &Item{id: s.ID, sellerID: s.SellerID, details: s.Details, status: s.Status, rsvID: s.RsvID,
		scoreSum: s.ScoreSum, reviewCount: s.ReviewCount, version: s.Version, createdAt: s.CreatedAt, updatedAt: s.UpdatedAt}
}

// State returns the stored form of the item.
func (it *Item) State() ItemState {
	return ItemState{ID: it.id, SellerID: it.sellerID, Details: it.details, Status: it.status, RsvID: it.rsvID,
		ScoreSum: it.scoreSum, ReviewCount: it.reviewCount, Version: it.version, CreatedAt: it.createdAt, UpdatedAt: it.updatedAt}
}

func (it *Item) ID() string             { return it.id }
func (it *Item) SellerID() string       { return it.sellerID }
func (it *Item) Details() ItemDetails   { return it.details }
func (it *Item) Status() ItemStatus     { return it.status }
func (it *Item) RsvID() string          { return it.rsvID }
func (it *Item) Price() int64           { return it.details.Price }
func (it *Item) ReviewCount() int       { return it.reviewCount }
func (it *Item) Version() int64         { return it.version }
func (it *Item) CreatedAt() time.Time   { return it.createdAt }
func (it *Item) UpdatedAt() time.Time   { return it.updatedAt }
func (it *Item) IsSeller(u string) bool { return u != "" && u == it.sellerID }

// Score is the mean review score, 0 when the item has no review.
func (it *Item) Score() float64 { return mean(it.scoreSum, it.reviewCount) }

// Update applies the seller's patch.
func (it *Item) Update(by string, p ItemPatch, now time.Time) error {
	if !it.IsSeller(by) {
		return Errorf(Forbidden, "only the seller may change this item")
	}
	d := it.details
	patch(&d.Name, p.Name)
	patch(&d.Category, p.Category)
	patch(&d.Price, p.Price)
	patch(&d.Description, p.Description)
	patch(&d.Region, p.Region)
	patch(&d.Photos, p.Photos)
	if err := d.Validate(); err != nil {
		return err
	}
	if p.Price != nil && *p.Price != it.details.Price && it.status != ItemCreated {
		return Errorf(Conflict, "the price was agreed when the item was reserved; it cannot change while the item is %s", it.status)
	}
	it.details = d.normalized()
	it.updatedAt = now
	return nil
}

// CheckDelete allows only the seller to delete, and only while on sale
// (seed rule 10): a reserved item has a meeting, a sold one a payment.
func (it *Item) CheckDelete(by string) error {
	if !it.IsSeller(by) {
		return Errorf(Forbidden, "only the seller may delete this item")
	}
	if it.status != ItemCreated {
		return Errorf(Conflict, "a %s item cannot be deleted", it.status)
	}
	return nil
}

// CheckChat refuses chats on a sold item (seed rule 9) and the seller's own.
func (it *Item) CheckChat(buyerID string) error {
	if it.IsSeller(buyerID) {
		return Errorf(Conflict, "you cannot reserve your own item")
	}
	if it.status == ItemSoldOut {
		return Errorf(Conflict, "the item is sold out")
	}
	return nil
}

// Reserve holds the item for reservation r when it is confirmed, and
// records on r the price agreed: the item's price now, which cannot change
// while the item is held. Only one reservation may hold an item at a time.
func (it *Item) Reserve(r *Reservation, now time.Time) error {
	switch {
	case it.status == ItemCreated:
		it.status, it.rsvID, it.updatedAt = ItemReserved, r.ID(), now
	case it.rsvID == r.ID():
		// confirmed again, e.g. a new meeting time
	default:
		return Errorf(Conflict, "the item is already %s by another reservation", it.status)
	}
	r.agreedPrice = it.details.Price
	return nil
}

// Follow brings the item in line with reservation rsvID as storage has it
// now (holder, nil when it is gone): a holder that is gone, or no longer
// confirmed or paid, releases the item; a paid one sells it; a confirmed
// one holds it RESERVED. A reservation that does not hold the item moves
// nothing. It reports whether anything changed.
func (it *Item) Follow(rsvID string, holder *Reservation, now time.Time) (bool, error) {
	if rsvID == "" || it.rsvID != rsvID {
		return false, nil
	}
	want := ItemCreated
	if holder != nil {
		switch holder.Status() {
		case RsvCompleted:
			want = ItemSoldOut
		case RsvConfirmed:
			want = ItemReserved
		}
	}
	if want == ItemCreated {
		it.status, it.rsvID, it.updatedAt = ItemCreated, "", now
		return true, nil
	}
	return it.moveHeld(rsvID, want, now)
}

// Release puts the item back on sale when reservation rsvID is deleted. It
// reports whether anything changed: a reservation that never held the item
// releases nothing.
func (it *Item) Release(rsvID string, now time.Time) (bool, error) {
	if rsvID == "" || it.rsvID != rsvID {
		return false, nil
	}
	if it.status == ItemSoldOut {
		return false, Errorf(Conflict, "a sold item cannot be released; cancel the payment first")
	}
	it.status, it.rsvID, it.updatedAt = ItemCreated, "", now
	return true, nil
}

// SellOut marks the item sold once reservation rsvID is paid. It reports
// whether anything changed, so a redelivered fact changes nothing.
func (it *Item) SellOut(rsvID string, now time.Time) (bool, error) {
	return it.moveHeld(rsvID, ItemSoldOut, now)
}

// Reopen returns a sold item to RESERVED when the payment of reservation
// rsvID is cancelled: the reservation is confirmed again and still holds it
// (SPEC 3.3, the decision on seed rule 6).
func (it *Item) Reopen(rsvID string, now time.Time) (bool, error) {
	return it.moveHeld(rsvID, ItemReserved, now)
}

// moveHeld moves an item that reservation rsvID holds between RESERVED and
// SOLDOUT, to status. Only the holder moves it; a move to where the item
// already is changes nothing and reports false.
func (it *Item) moveHeld(rsvID string, status ItemStatus, now time.Time) (bool, error) {
	if rsvID == "" || it.rsvID != rsvID {
		return false, Errorf(Conflict, "the item is not held by reservation %s", rsvID)
	}
	if it.status == status {
		return false, nil
	}
	it.status, it.updatedAt = status, now
	return true, nil
}

// AddReview counts one review score (1..5) into the item's mean.
func (it *Item) AddReview(score int, now time.Time) {
	it.scoreSum += score
	it.reviewCount++
	it.updatedAt = now
}

// patch sets field to *v when a patch gives v, and keeps it when v is nil.
func patch[T any](field *T, v *T) {
	if v != nil {
		*field = *v
	}
}

// normalized is d as it is stored: its one-line texts without white space
// at either end.
func (d ItemDetails) normalized() ItemDetails {
	d.Name = itemName.stored(d.Name)
	d.Category = itemCategory.stored(d.Category)
	d.Region = itemRegion.stored(d.Region)
	if d.Photos == nil {
		d.Photos = []string{}
	}
	return d
}

func isPhotoURL(s string) bool {
	if len(s) > maxPhotoURL {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func mean(sum, count int) float64 {
	if count == 0 {
		return 0
	}
	return float64(sum) / float64(count)
}
