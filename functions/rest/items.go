package rest

import (
	"net/http"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/web"
)

type newItem struct {
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

func (h *Handler) PostItems(w http.ResponseWriter, r *http.Request) {
	var in newItem
	if err := web.Decode(r, &in); err != nil {
		edge.Error(w, r, err)
		return
	}
	it, err := h.App.RegisterItem(r.Context(), user(r), market.ItemDetails(in))
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	created(w, "/items/"+it.ID(), toItem(it))
}

func (h *Handler) GetItems(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	f := app.ItemFilter{Status: market.ItemStatus(q.Get("status")), Category: q.Get("category"), SellerID: q.Get("sellerId"), Query: q.Get("q")}
	if err := checkStatusFilter(f.Status); err != nil {
		edge.Error(w, r, err)
		return
	}
	items, next, err := h.App.Items(r.Context(), f, p)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, listOf(items, next, toItem))
}

func (h *Handler) GetItem(w http.ResponseWriter, r *http.Request) {
	it, err := h.App.Item(r.Context(), vars(r, "itemId"))
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, toItem(it))
}

func (h *Handler) PatchItem(w http.ResponseWriter, r *http.Request) {
	var in itemPatch
	if err := web.Decode(r, &in); err != nil {
		edge.Error(w, r, err)
		return
	}
	if in.Status != nil {
		var f market.Fields
		f.Add("status", "is changed by reservations and payments, not by editing the item")
		edge.Error(w, r, f.Err())
		return
	}
	p := market.ItemPatch{Name: in.Name, Category: in.Category, Price: in.Price, Description: in.Description, Region: in.Region, Photos: in.Photos}
	it, err := h.App.UpdateItem(r.Context(), user(r), vars(r, "itemId"), p)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, toItem(it))
}

func (h *Handler) DeleteItem(w http.ResponseWriter, r *http.Request) {
	if err := h.App.DeleteItem(r.Context(), user(r), vars(r, "itemId")); err != nil {
		edge.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func checkStatusFilter(s market.ItemStatus) error {
	switch s {
	case "", market.ItemCreated, market.ItemReserved, market.ItemSoldOut:
		return nil
	}
	var f market.Fields
	f.Add("status", "must be CREATED, RESERVED or SOLDOUT")
	return f.Err()
}
