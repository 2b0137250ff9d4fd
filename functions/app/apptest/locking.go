package apptest

import (
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// unit is one attempt of a unit of work of either port.
type unit struct {
	tx   app.Tx
	view app.ViewTx
}

// counted is one kind of versioned row, seen as a counter and a version,
// so that one table of tests covers every kind: get loads the row of id
// (version 0 when there is none), put stores it holding n as loaded at
// version (0 creates it), del deletes it (nil for kinds never deleted).
type counted struct {
	name string
	view bool // the row lives in the read model
	// unchecked says a load is not checked at commit (ViewTx.Deals: the
	// deals of a query are checked only where they are written).
	unchecked bool
	get       func(u unit, id string) (n int, version int64, err error)
	put       func(u unit, id string, n int, version int64)
	del       func(u unit, id string, version int64)
}

// absent turns the NotFound of a missing aggregate into no error.
func absent(err error) error {
	if market.ErrorCode(err) == market.NotFound {
		return nil
	}
	return err
}

var kinds = []counted{
	{name: "item",
		get: func(u unit, id string) (int, int64, error) {
			it, err := u.tx.Item(id)
			if err != nil {
				return 0, 0, absent(err)
			}
			return it.ReviewCount(), it.Version(), nil
		},
		put: func(u unit, id string, n int, version int64) {
			st := newItem(id, "seller", market.ItemDetails{}).State()
			st.ReviewCount, st.ScoreSum, st.Version = n, 5*n, version
			u.tx.SaveItem(market.RestoreItem(st))
		},
		del: func(u unit, id string, version int64) {
			u.tx.DeleteItem(market.RestoreItem(market.ItemState{ID: id, Version: version}))
		}},
	{name: "reservation",
		get: func(u unit, id string) (int, int64, error) {
			r, err := u.tx.Reservation(id)
			if err != nil {
				return 0, 0, absent(err)
			}
			n, err := strconv.Atoi(r.Meeting().Place)
			return n, r.Version(), err
		},
		put: func(u unit, id string, n int, version int64) {
			st := newReservation(id, "item").State()
			st.Meeting.Place, st.Version = strconv.Itoa(n), version
			u.tx.SaveReservation(market.RestoreReservation(st))
		},
		del: func(u unit, id string, version int64) {
			u.tx.DeleteReservation(market.RestoreReservation(market.ReservationState{ID: id, Version: version}))
		}},
	{name: "payment",
		get: func(u unit, id string) (int, int64, error) {
			p, err := u.tx.Payment(id)
			if err != nil {
				return 0, 0, absent(err)
			}
			return int(p.Amount()), p.Version(), nil
		},
		put: func(u unit, id string, n int, version int64) {
			st := newPayment(id, "rsv").State()
			st.Amount, st.Version = int64(n), version
			u.tx.SavePayment(market.RestorePayment(st))
		}},
	{name: "seller",
		get: func(u unit, id string) (int, int64, error) {
			sl, err := u.tx.Seller(id)
			if err != nil {
				return 0, 0, err
			}
			return sl.ReviewCount, sl.Version, nil
		},
		put: func(u unit, id string, n int, version int64) {
			u.tx.SaveSeller(&market.Seller{ID: id, ScoreSum: 5 * n, ReviewCount: n, Version: version})
		}},
	{name: "page row", view: true,
		get: func(u unit, id string) (int, int64, error) {
			row, err := u.view.Row(id)
			if err != nil || row == nil {
				return 0, 0, err
			}
			return row.OpenChats, row.Version, nil
		},
		put: func(u unit, id string, n int, version int64) {
			u.view.SaveRow(&app.PageRow{ItemID: id, SellerID: "seller", OpenChats: n, UpdatedAt: now(), Version: version})
		},
		del: func(u unit, id string, version int64) {
			u.view.DeleteRow(&app.PageRow{ItemID: id, Version: version})
		}},
	{name: "page deal", view: true, unchecked: true,
		get: func(u unit, id string) (int, int64, error) {
			deals, err := u.view.Deals(id)
			for _, d := range deals {
				if d.RsvID == "rsv-"+id {
					return int(d.Price), d.Version, err
				}
			}
			return 0, 0, err
		},
		put: func(u unit, id string, n int, version int64) {
			u.view.SaveDeal(&app.PageDeal{ItemID: id, RsvID: "rsv-" + id, BuyerID: "buyer", Price: int64(n), UpdatedAt: now(), Version: version})
		},
		del: func(u unit, id string, version int64) {
			u.view.DeleteDeal(&app.PageDeal{ItemID: id, RsvID: "rsv-" + id, Version: version})
		}},
}

// itemKind and rowKind bump what tests read, to make it stale.
var itemKind, rowKind = kinds[0], kinds[4]

// run runs change as one unit of work of the port k lives in and returns
// how often change ran.
func (k counted) run(s Stores, change func(u unit, attempt int) error) (int, error) {
	if k.view {
		return updateView(s, func(tx app.ViewTx, attempt int) error { return change(unit{view: tx}, attempt) })
	}
	_, runs, err := update(s, func(tx app.Tx, attempt int) error { return change(unit{tx: tx}, attempt) })
	return runs, err
}

// bump adds one to the counter of id in a unit of work of its own; a
// missing row is created holding 1.
func (k counted) bump(t *testing.T, s Stores, id string) {
	t.Helper()
	_, err := k.run(s, func(u unit, _ int) error {
		n, version, err := k.get(u, id)
		if err == nil {
			k.put(u, id, n+1, version)
		}
		return err
	})
	require.NoError(t, err)
}

// create stores the row of id holding 0.
func (k counted) create(t *testing.T, s Stores, id string) {
	t.Helper()
	_, err := k.run(s, func(u unit, _ int) error { k.put(u, id, 0, 0); return nil })
	require.NoError(t, err)
}

// expect checks what the row of id holds; version 0 is no row.
func (k counted) expect(t *testing.T, s Stores, id string, n int, version int64) {
	t.Helper()
	_, err := k.run(s, func(u unit, _ int) error {
		got, gotVersion, err := k.get(u, id)
		assert.Equal(t, n, got, "counter")
		assert.Equal(t, version, gotVersion, "version")
		return err
	})
	require.NoError(t, err)
}

func testLocking(t *testing.T, s Stores) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			testLockingOf(t, s, k)
		})
	}
}

func testLockingOf(t *testing.T, s Stores, k counted) {
	t.Run("a stale save runs again on fresh loads", func(t *testing.T) {
		t.Parallel()
		id := uid()
		k.create(t, s, id)
		runs, err := k.run(s, func(u unit, attempt int) error {
			n, version, err := k.get(u, id)
			if attempt == 1 {
				k.bump(t, s, id)
			}
			k.put(u, id, n+1, version)
			return err
		})
		require.NoError(t, err)
		assert.Equal(t, 2, runs)
		k.expect(t, s, id, 2, 3)
	})

	if k.del != nil {
		t.Run("a stale delete runs again on fresh loads", func(t *testing.T) {
			t.Parallel()
			id := uid()
			k.create(t, s, id)
			runs, err := k.run(s, func(u unit, attempt int) error {
				_, version, err := k.get(u, id)
				if attempt == 1 {
					k.bump(t, s, id)
				}
				k.del(u, id, version)
				return err
			})
			require.NoError(t, err)
			assert.Equal(t, 2, runs)
			k.expect(t, s, id, 0, 0)

			k.create(t, s, id)
			k.expect(t, s, id, 0, 1)
		})
	}

	t.Run("creating what exists is stale", func(t *testing.T) {
		t.Parallel()
		id := uid()
		k.create(t, s, id)
		runs, err := k.run(s, func(u unit, _ int) error { k.put(u, id, 5, 0); return nil })
		assert.ErrorIs(t, err, app.ErrStale)
		assert.Greater(t, runs, 1, "a lost race runs again")
		k.expect(t, s, id, 0, 1)
	})

	t.Run("a unit that keeps losing ends in ErrStale", func(t *testing.T) {
		t.Parallel()
		id := uid()
		k.create(t, s, id)
		runs, err := k.run(s, func(u unit, _ int) error {
			n, version, err := k.get(u, id)
			k.bump(t, s, id)
			k.put(u, id, n+1, version)
			return err
		})
		assert.ErrorIs(t, err, app.ErrStale)
		assert.Greater(t, runs, 1)
		k.expect(t, s, id, runs, int64(runs)+1)
	})

	// What a unit reads and does not write must be unchanged at commit,
	// missing rows included: another row of the kind is written instead.
	for _, exists := range []bool{true, false} {
		name := "a row read and not written is checked"
		if !exists {
			name = "a missing row read and not written is checked"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			read, written := uid(), uid()
			if exists {
				k.create(t, s, read)
			}
			k.create(t, s, written)
			runs, err := k.run(s, func(u unit, attempt int) error {
				if _, _, err := k.get(u, read); err != nil {
					return err
				}
				if attempt == 1 {
					k.bump(t, s, read)
				}
				n, version, err := k.get(u, written)
				k.put(u, written, n+1, version)
				return err
			})
			require.NoError(t, err)
			if k.unchecked {
				assert.Equal(t, 1, runs, "ViewTx.Deals is checked only where written")
			} else {
				assert.Equal(t, 2, runs)
			}
			if exists {
				k.expect(t, s, read, 1, 2)
			} else {
				k.expect(t, s, read, 1, 1)
			}
			k.expect(t, s, written, 1, 2)
		})
	}
}

// record is one uniqueness record (or, for reads, the review of a
// reservation): get returns its owner, "" when free; set gives it to
// owner, "" frees it.
type record struct {
	name string
	get  func(tx app.Tx, key string) (string, error)
	set  func(tx app.Tx, key, owner string)
}

var records = []record{
	{"open chat",
		func(tx app.Tx, key string) (string, error) { return tx.OpenChat(key, "buyer") },
		func(tx app.Tx, key, owner string) { tx.SetOpenChat(key, "buyer", owner) }},
	{"approved payment",
		func(tx app.Tx, key string) (string, error) { return tx.ApprovedPayment(key) },
		func(tx app.Tx, key, owner string) { tx.SetApprovedPayment(key, owner) }},
	{"review",
		func(tx app.Tx, key string) (string, error) {
			reviewed, err := tx.Reviewed(key)
			if reviewed {
				return "reviewed", err
			}
			return "", err
		},
		func(tx app.Tx, key, _ string) { tx.AddReview(newReview(key)) }},
}

// uniques are the records that Tx sets and frees.
var uniques = records[:2]

func (r record) owner(t *testing.T, s Stores, key string) string {
	t.Helper()
	var owner string
	mustRead(t, s, func(tx app.Tx) (err error) { owner, err = r.get(tx, key); return err })
	return owner
}

func testReadChecks(t *testing.T, s Stores) {
	for _, r := range records {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			key, itemID := uid(), uid()
			var seen []string
			_, runs, err := update(s, func(tx app.Tx, attempt int) error {
				owner, err := r.get(tx, key)
				seen = append(seen, owner)
				if attempt == 1 {
					mustWrite(t, s, func(tx app.Tx) { r.set(tx, key, "other") })
				}
				tx.SaveItem(newItem(itemID, "seller", market.ItemDetails{}))
				return err
			})
			require.NoError(t, err)
			assert.Equal(t, 2, runs)
			assert.Len(t, seen, 2)
			assert.Empty(t, seen[0])
			assert.Equal(t, r.owner(t, s, key), seen[len(seen)-1], "the second attempt sees the change")
			_, err = s.Store.Item(ctx, itemID)
			assert.NoError(t, err)
		})
	}

	t.Run("a unit that writes nothing commits nothing and succeeds", func(t *testing.T) {
		t.Parallel()
		id := uid()
		itemKind.create(t, s, id)
		evs, runs, err := update(s, func(tx app.Tx, attempt int) error {
			_, err := tx.Item(id)
			if attempt == 1 {
				itemKind.bump(t, s, id)
			}
			return err
		})
		require.NoError(t, err)
		assert.Empty(t, evs)
		assert.Equal(t, 1, runs, "nothing to commit, nothing to check")
		itemKind.expect(t, s, id, 1, 2)
	})
}

// errTaken is a taker's own error when it finds the record taken.
var errTaken = errors.New("taken")

func testUniqueness(t *testing.T, s Stores) {
	for _, r := range uniques {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			testUniquenessOf(t, s, r)
		})
	}
}

func testUniquenessOf(t *testing.T, s Stores, r record) {
	t.Run("concurrent takers have one winner", func(t *testing.T) {
		t.Parallel()
		key := uid()
		const n = 20
		owners, errs := make([]string, n), make([]error, n)
		start := make(chan struct{})
		done := make(chan int)
		for i := range n {
			owners[i] = uid()
			go func() {
				<-start
				_, _, errs[i] = update(s, func(tx app.Tx, _ int) error {
					owner, err := r.get(tx, key)
					if err != nil || owner != "" {
						return errors.Join(err, errTaken)
					}
					r.set(tx, key, owners[i])
					tx.SaveReservation(newReservation(owners[i], key))
					return nil
				})
				done <- i
			}()
		}
		close(start)
		for range n {
			<-done
		}
		var winners []string
		for i, err := range errs {
			if err == nil {
				winners = append(winners, owners[i])
				continue
			}
			// A loser finds the record taken when it runs again, or keeps
			// colliding with other takers until it gives up.
			if !errors.Is(err, errTaken) {
				assert.ErrorIs(t, err, app.ErrStale)
			}
			_, err := s.Store.Reservation(ctx, owners[i])
			assertCode(t, market.NotFound, err)
		}
		require.Len(t, winners, 1, "errors: %v", errs)
		assert.Equal(t, winners[0], r.owner(t, s, key))
		_, err := s.Store.Reservation(ctx, winners[0])
		assert.NoError(t, err)
	})

	t.Run("taking without reading requires the record free", func(t *testing.T) {
		t.Parallel()
		key := uid()
		mustWrite(t, s, func(tx app.Tx) { r.set(tx, key, "a") })
		for _, owner := range []string{"b", "a"} {
			_, runs, err := update(s, func(tx app.Tx, _ int) error { r.set(tx, key, owner); return nil })
			assert.ErrorIs(t, err, app.ErrStale, "even the owner cannot take it twice")
			assert.Greater(t, runs, 1)
		}
		assert.Equal(t, "a", r.owner(t, s, key))
	})

	t.Run("the owner read may be replaced", func(t *testing.T) {
		t.Parallel()
		key := uid()
		mustWrite(t, s, func(tx app.Tx) { r.set(tx, key, "a") })
		_, runs, err := update(s, func(tx app.Tx, _ int) error {
			owner, err := r.get(tx, key)
			assert.Equal(t, "a", owner)
			r.set(tx, key, "b")
			return err
		})
		require.NoError(t, err)
		assert.Equal(t, 1, runs)
		assert.Equal(t, "b", r.owner(t, s, key))
	})

	t.Run("freeing", func(t *testing.T) {
		t.Parallel()
		key := uid()
		mustWrite(t, s, func(tx app.Tx) { r.set(tx, key, "a") })
		_, _, err := update(s, func(tx app.Tx, _ int) error {
			_, err := r.get(tx, key)
			r.set(tx, key, "")
			return err
		})
		require.NoError(t, err)
		assert.Empty(t, r.owner(t, s, key))
		mustWrite(t, s, func(tx app.Tx) { r.set(tx, key, "") }) // freeing a free record is fine
		assert.Empty(t, r.owner(t, s, key))
		mustWrite(t, s, func(tx app.Tx) { r.set(tx, key, "b") })
		assert.Equal(t, "b", r.owner(t, s, key))
	})
}
