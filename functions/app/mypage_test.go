package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

func (s *system) row(itemID string) app.PageRow {
	s.t.Helper()
	row, err := s.mypage.MyPageRow(context.Background(), itemID)
	require.NoError(s.t, err)
	return *row
}

func TestMyPageFollowsADeal(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
	it := s.item(seller)
	s.deliver()
	row := s.row(it.ID())
	assert.Equal(t, app.PageRow{ItemID: it.ID(), ItemName: "armchair", ItemStatus: "CREATED", Price: 25_000, SellerID: seller,
		UpdatedAt: row.UpdatedAt, Version: row.Version}, row)

	backup := s.chat(other, it.ID())
	r := s.confirmed(it.ID())
	s.deliver()
	row = s.row(it.ID())
	assert.Equal(t, "RESERVED", row.ItemStatus)
	assert.Equal(t, 2, row.OpenChats)
	assert.Equal(t, []string{r.ID(), buyer, "CONFIRMED", meeting.Date, meeting.Time, meeting.Place},
		[]string{row.RsvID, row.BuyerID, row.RsvStatus, row.RsvDate, row.RsvTime, row.RsvPlace})

	p, err := s.cmd.Pay(ctx, buyer, r.ID(), "")
	require.NoError(t, err)
	s.deliver()
	row = s.row(it.ID())
	assert.Equal(t, []string{"SOLDOUT", "COMPLETED", p.ID(), "APPROVED"}, []string{row.ItemStatus, row.RsvStatus, row.PayID, row.PayStatus})

	_, err = s.cmd.CancelPayment(ctx, seller, p.ID(), "", "")
	require.NoError(t, err)
	s.deliver()
	require.NoError(t, s.cmd.DeleteReservation(ctx, buyer, r.ID()))
	s.deliver()
	row = s.row(it.ID())
	assert.Equal(t, "CREATED", row.ItemStatus)
	assert.Empty(t, row.RsvID+row.BuyerID+row.RsvStatus+row.PayID+row.PayStatus, "no deal holds it")
	assert.Equal(t, 1, row.OpenChats, "the back-up buyer's chat is open")

	page, _, _, err := s.mypage.MyPageOf(ctx, other, other, app.Page{}, app.Page{})
	require.NoError(t, err)
	require.Len(t, page.Buying, 1)
	assert.Equal(t, backup.ID(), page.Buying[0].RsvID)
	assert.Equal(t, "CREATED", page.Buying[0].ItemStatus)
}

func TestMyPageOfIsTheUsersAlone(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
	it, r, _ := s.paid()

	_, _, _, err := s.mypage.MyPageOf(ctx, other, seller, app.Page{}, app.Page{})
	assertCode(t, market.Forbidden, err)
	selling, _, _, err := s.mypage.MyPageOf(ctx, seller, seller, app.Page{}, app.Page{})
	require.NoError(t, err)
	require.Len(t, selling.Selling, 1)
	assert.Equal(t, it.ID(), selling.Selling[0].ItemID)
	assert.Empty(t, selling.Buying)
	buying, _, _, err := s.mypage.MyPageOf(ctx, buyer, buyer, app.Page{}, app.Page{})
	require.NoError(t, err)
	require.Len(t, buying.Buying, 1)
	assert.Equal(t, []string{r.ID(), "SOLDOUT", "COMPLETED", "APPROVED"},
		[]string{buying.Buying[0].RsvID, buying.Buying[0].ItemStatus, buying.Buying[0].RsvStatus, buying.Buying[0].PayStatus})
}

func TestMyPageForgetsDeletedItems(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
	kept, gone := s.item(seller), s.item(seller)
	r := s.chat(buyer, gone.ID())
	require.NoError(t, s.cmd.DeleteItem(ctx, seller, gone.ID()))
	s.deliver()

	rows, _, err := s.mypage.MyPage(ctx, app.Page{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, kept.ID(), rows[0].ItemID)
	_, err = s.mypage.MyPageRow(ctx, gone.ID())
	assertCode(t, market.NotFound, err)
	page, _, _, err := s.mypage.MyPageOf(ctx, buyer, buyer, app.Page{}, app.Page{})
	require.NoError(t, err)
	require.Len(t, page.Buying, 1)
	assert.Equal(t, r.ID(), page.Buying[0].RsvID)
	assert.Equal(t, "DELETED", page.Buying[0].ItemStatus, "the buyer sees the item went away")
}

// Replaying the log into an empty view rebuilds the same view, and a
// replay over a built view changes nothing (SPEC 3.5).
func TestMyPageReplays(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
	it, r, _ := s.paid()
	_, err := s.cmd.WriteReview(ctx, buyer, r.ID(), 5, "")
	require.NoError(t, err)
	s.deliver()
	want := s.row(it.ID())

	fresh := newSystem(t)
	for _, e := range s.log.events {
		if _, ok := app.MyPageProjector[events.Type(e.Type())]; ok {
			require.NoError(t, fresh.mypage.Project(ctx, e))
			err := s.mypage.Project(ctx, e)
			assert.ErrorIs(t, err, app.ErrDuplicate, "a replay over the view is a duplicate")
		}
	}
	got := fresh.row(it.ID())
	want.UpdatedAt, want.Version, got.Version = got.UpdatedAt, 0, 0
	assert.Equal(t, want, got)
	assert.Equal(t, 5.0, got.Score)
}
