package rest

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// itemDetails are what a seller sets of an item: the body of POST /items,
// and a part of the item on the wire.
type itemDetails struct {
	Name        string   `json:"name"`
	Category    string   `json:"category"`
	Price       int64    `json:"price"`
	Description string   `json:"description"`
	Region      string   `json:"region"`
	Photos      []string `json:"photos"`
}

type itemPatch struct {
	Name        *string   `json:"name"`
	Category    *string   `json:"category"`
	Price       *int64    `json:"price"`
	Description *string   `json:"description"`
	Region      *string   `json:"region"`
	Photos      *[]string `json:"photos"`
	Status      *string   `json:"status"` // read-only; refused when it asks for a change
}

func (in itemPatch) check() error {
	return refuse(rule{in.Status != nil, "status", "is changed by reservations and payments, not by editing the item"})
}

func (h *Handler) PostItems(r *http.Request, in itemDetails) (reply, error) {
	it, err := h.App.RegisterItem(r.Context(), user(r), market.ItemDetails(in))
	return created(it, err, toItem)
}

func (h *Handler) GetItems(r *http.Request) (reply, error) {
	p, err := page(r)
	if err != nil {
		return reply{}, err
	}
	sellerID, err := userIDParam(r, "sellerId")
	if err != nil {
		return reply{}, err
	}
	q := r.URL.Query()
	f := app.ItemFilter{Status: market.ItemStatus(q.Get("status")), Region: q.Get("region"), Category: q.Get("category"),
		SellerID: sellerID, Query: q.Get("q")}
	if err := checkStatusFilter(f.Status); err != nil {
		return reply{}, err
	}
	if f.MinPrice, err = priceParam(r, "minPrice"); err != nil {
		return reply{}, err
	}
	if f.MaxPrice, err = priceParam(r, "maxPrice"); err != nil {
		return reply{}, err
	}
	items, next, err := h.App.Items(r.Context(), f, p)
	return listed(items, next, err, toItem)
}

func (h *Handler) GetItem(r *http.Request) (reply, error) {
	it, err := h.App.Item(r.Context(), vars(r, "itemId"))
	return ok(it, err, toItem)
}

func (h *Handler) PatchItem(r *http.Request, in itemPatch) (reply, error) {
	p := market.ItemPatch{Name: in.Name, Category: in.Category, Price: in.Price, Description: in.Description, Region: in.Region, Photos: in.Photos}
	it, err := h.App.UpdateItem(r.Context(), user(r), vars(r, "itemId"), p)
	return ok(it, err, toItem)
}

func (h *Handler) DeleteItem(r *http.Request) (reply, error) {
	return noContent(h.App.DeleteItem(r.Context(), user(r), vars(r, "itemId")))
}

func checkStatusFilter(s market.ItemStatus) error {
	known := slices.Contains([]market.ItemStatus{"", market.ItemCreated, market.ItemReserved, market.ItemSoldOut}, s)
	return refuse(rule{!known, "status", "must be CREATED, RESERVED or SOLDOUT"})
}

// priceParam reads an optional price bound in won; nil when absent.
func priceParam(r *http.Request, name string) (*int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > market.MaxItemPrice {
		var f market.Fields
		f.Add(name, "must be a whole number of won from 0 to %d", market.MaxItemPrice)
		return nil, f.Err()
	}
	return &n, nil
}
