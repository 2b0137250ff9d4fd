package dynamo

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// maxTransactOps is DynamoDB's limit of actions in one transaction.
const maxTransactOps = 100

// handledTTL is how long a consumer's dedupe record is kept. A redelivery
// later than this would be applied again; Kafka-backed brokers redeliver
// within minutes, so a week leaves a wide margin.
const handledTTL = 7 * 24 * time.Hour

// tx is one attempt of a unit of work: the rows it read with the condition
// that they are unchanged, and the actions of its transaction. A write
// that cannot be built (a marshalling bug) is kept in err and fails the
// commit, so that Tx's write methods need not return errors.
type tx struct {
	ctx       context.Context
	s         *Store
	now       time.Time
	reads     map[string]readCheck // by row
	actions   []action
	published []cloudevents.Event
	changed   []app.Change // for the change log (changes.go)
	// items holds each item as loaded, whose feed and word rows a save
	// replaces.
	items map[string]itemRecord
	// nonce marks the word rows of this attempt, words lists them (words.go).
	nonce string
	words wordWrites
	err   error
}

// readCheck is what a row read must still be at commit.
type readCheck struct {
	table string
	key   map[string]types.AttributeValue
	cond  expression.ConditionBuilder
}

// action is one write of the transaction and the row it writes; a failed
// condition of a duplicate-marking write means the event was handled.
type action struct {
	row       string
	item      types.TransactWriteItem
	duplicate bool
}

var (
	_ app.Tx     = (*tx)(nil)
	_ app.ViewTx = (*tx)(nil)
)

func (s *Store) begin(ctx context.Context) *tx {
	return &tx{ctx: ctx, s: s, now: time.Now().UTC(), reads: map[string]readCheck{}, items: map[string]itemRecord{}, nonce: newNonce()}
}

// rowID names one row of one table.
func rowID(table string, keyValues ...string) string {
	return table + "|" + strings.Join(keyValues, "|")
}

func (t *tx) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

// read remembers that the row must still meet cond at commit.
func (t *tx) read(row, table string, k map[string]types.AttributeValue, cond expression.ConditionBuilder) {
	t.reads[row] = readCheck{table: table, key: k, cond: cond}
}

func (t *tx) add(row string, item types.TransactWriteItem, err error) {
	if err != nil {
		t.fail(err)
		return
	}
	t.actions = append(t.actions, action{row: row, item: item})
}

// Published implements optimistic.Attempt.
func (t *tx) Published() []cloudevents.Event { return t.published }

// Commit implements optimistic.Attempt: it writes the actions and checks
// the rows read and not written, in one transaction.
func (t *tx) Commit() error {
	if t.err != nil {
		return t.err
	}
	if len(t.actions) == 0 {
		return nil
	}
	logged, err := t.changeActions(time.Now().UTC())
	if err != nil {
		return err
	}
	written := map[string]bool{}
	items := make([]types.TransactWriteItem, 0, len(t.actions)+len(t.reads)+len(logged))
	duplicate := make([]bool, 0, cap(items))
	for _, w := range logged {
		items = append(items, w)
		duplicate = append(duplicate, false)
	}
	for _, a := range t.actions {
		written[a.row] = true
		items = append(items, a.item)
		duplicate = append(duplicate, a.duplicate)
	}
	for row, r := range t.reads {
		if written[row] {
			continue
		}
		c, err := check(r.table, r.key, r.cond)
		if err != nil {
			return err
		}
		items = append(items, c)
		duplicate = append(duplicate, false)
	}
	if len(items) > maxTransactOps {
		return internalf("dynamo: %d actions exceed the %d of one transaction", len(items), maxTransactOps)
	}
	if err := t.s.putWords(t.ctx, t.words.put); err != nil {
		t.s.dropWords(t.ctx, t.words.put)
		return err
	}
	if _, err := t.s.client.TransactWriteItems(t.ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		t.s.dropWords(t.ctx, t.words.put)
		return commitError(duplicate, err)
	}
	t.s.dropWords(t.ctx, t.words.drop)
	return nil
}

// expectVersion is the condition that a row is as it was loaded: absent
// when loaded is 0, else stored with that version. pk is the partition key
// attribute, which every stored row has.
func expectVersion(pk string, loaded int64) expression.ConditionBuilder {
	if loaded == 0 {
		return expression.AttributeNotExists(expression.Name(pk))
	}
	return expression.Name(attrVersion).Equal(expression.Value(loaded))
}

// expectOwner is the condition that a uniqueness record is owned by owner,
// or absent when owner is "".
func expectOwner(owner string) expression.ConditionBuilder {
	if owner == "" {
		return expression.AttributeNotExists(expression.Name("key"))
	}
	return expression.Name("owner").Equal(expression.Value(owner))
}

// expectPresence is the condition that a row exists, or that it does not.
func expectPresence(pk string, present bool) expression.ConditionBuilder {
	if present {
		return expression.AttributeExists(expression.Name(pk))
	}
	return expression.AttributeNotExists(expression.Name(pk))
}

// put, del and check build one action of a transaction: a Put, a Delete
// or a ConditionCheck of a row read; a nil cond is no condition.
func put(table string, item map[string]types.AttributeValue, cond *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	c, names, values, err := condition(cond)
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: item,
		ConditionExpression: c, ExpressionAttributeNames: names, ExpressionAttributeValues: values}}, err
}

func del(table string, k map[string]types.AttributeValue, cond *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	c, names, values, err := condition(cond)
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(table), Key: k,
		ConditionExpression: c, ExpressionAttributeNames: names, ExpressionAttributeValues: values}}, err
}

func check(table string, k map[string]types.AttributeValue, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	c, names, values, err := condition(&cond)
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(table), Key: k,
		ConditionExpression: c, ExpressionAttributeNames: names, ExpressionAttributeValues: values}}, err
}

// versionedRecord is the stored form of a row that carries a version.
type versionedRecord interface{ version() int64 }

// versioned reads the row of id into a record of type R, remembers its
// version for the commit to check (0, absent, when there is none) and
// returns it converted; found is false when there is none.
func versioned[R versionedRecord, T any](t *tx, table, pk, id, what string, convert func(R) T) (v T, found bool, err error) {
	var rec R
	k := key(pk, id)
	if found, err = t.s.get(t.ctx, table, k, &rec, what); err != nil {
		return v, false, err
	}
	t.read(rowID(table, id), table, k, expectVersion(pk, rec.version()))
	return convert(rec), found, nil
}

// existing is versioned for a row that must exist: market.NotFound when
// there is none.
func existing[R versionedRecord, T any](t *tx, table, pk, id, what string, convert func(R) T) (T, error) {
	v, found, err := versioned(t, table, pk, id, what, convert)
	if err == nil && !found {
		var zero T
		return zero, market.Errorf(market.NotFound, "%s %s not found", what, id)
	}
	return v, err
}

func (t *tx) Item(itemID string) (*market.Item, error) {
	rec, err := existing(t, t.s.t.items, "itemId", itemID, "item", func(r itemRecord) itemRecord { return r })
	if err != nil {
		return nil, err
	}
	t.items[itemID] = rec
	return rec.item(), nil
}

func (t *tx) Reservation(rsvID string) (*market.Reservation, error) {
	return existing(t, t.s.t.reservations, "rsvId", rsvID, "reservation", reservationRecord.reservation)
}

func (t *tx) Payment(payID string) (*market.Payment, error) {
	return existing(t, t.s.t.payments, "payId", payID, "payment", paymentRecord.payment)
}

func (t *tx) Seller(sellerID string) (*market.Seller, error) {
	sl, found, err := versioned(t, t.s.t.sellers, "sellerId", sellerID, "seller", sellerRecord.seller)
	if err == nil && !found {
		sl = &market.Seller{ID: sellerID}
	}
	return sl, err
}

func (t *tx) Reviewed(rsvID string) (bool, error) {
	_, found, err := t.review(rsvID)
	return found, err
}

func (t *tx) Review(rsvID string) (market.Review, error) {
	rv, found, err := t.review(rsvID)
	if err == nil && !found {
		err = market.Errorf(market.NotFound, "review of reservation %s not found", rsvID)
	}
	return rv, err
}

// review reads the review of a reservation and remembers whether there was
// one: reviews never change, so presence is what the commit checks.
func (t *tx) review(rsvID string) (market.Review, bool, error) {
	var rec reviewRecord
	k := key("rsvId", rsvID)
	found, err := t.s.get(t.ctx, t.s.t.reviews, k, &rec, "review")
	if err != nil {
		return market.Review{}, false, err
	}
	t.read(rowID(t.s.t.reviews, rsvID), t.s.t.reviews, k, expectPresence("rsvId", found))
	return rec.review(), found, nil
}

// The uniqueness rules live in the claims table, one row per rule and key.
func chatClaim(itemID, buyerID string) string { return "chat|" + itemID + "|" + buyerID }
func paymentClaim(rsvID string) string        { return "payment|" + rsvID }

func (t *tx) OpenChat(itemID, buyerID string) (string, error) {
	return t.claimed(chatClaim(itemID, buyerID))
}

func (t *tx) ApprovedPayment(rsvID string) (string, error) {
	return t.claimed(paymentClaim(rsvID))
}

// claimed returns the owner of a claim, "" when it is free.
func (t *tx) claimed(claim string) (string, error) {
	var rec claimRecord
	k := key("key", claim)
	if _, err := t.s.get(t.ctx, t.s.t.claims, k, &rec, "claim"); err != nil {
		return "", err
	}
	t.read(rowID(t.s.t.claims, claim), t.s.t.claims, k, expectOwner(rec.Owner))
	return rec.Owner, nil
}

func (t *tx) SetOpenChat(itemID, buyerID, rsvID string) { t.claim(chatClaim(itemID, buyerID), rsvID) }

func (t *tx) SetApprovedPayment(rsvID, payID string) { t.claim(paymentClaim(rsvID), payID) }

// claim gives a claim to owner, or frees it for "". The write requires
// what this attempt read of the claim; a claim not read must be free to
// be taken and is freed unconditionally.
func (t *tx) claim(claim, owner string) {
	row, k := rowID(t.s.t.claims, claim), key("key", claim)
	var cond *expression.ConditionBuilder
	if r, ok := t.reads[row]; ok {
		cond = &r.cond
	} else if owner != "" {
		free := expectOwner("")
		cond = &free
	}
	if owner == "" {
		item, err := del(t.s.t.claims, k, cond)
		t.add(row, item, err)
		return
	}
	t.put(row, t.s.t.claims, claimRecord{Key: claim, Owner: owner, CreatedAt: t.now}, 0, cond)
}

// put adds a Put of rec at version (none when 0) under cond.
func (t *tx) put(row, table string, rec any, version int64, cond *expression.ConditionBuilder) {
	item, err := marshal(rec, version)
	if err != nil {
		t.fail(err)
		return
	}
	w, err := put(table, item, cond)
	t.add(row, w, err)
}

// save puts rec of a row loaded at version loaded, as version loaded+1.
func (t *tx) save(table, pk, id string, rec any, loaded int64) int64 {
	cond := expectVersion(pk, loaded)
	t.put(rowID(table, id), table, rec, loaded+1, &cond)
	return loaded + 1
}

// remove deletes a row loaded at version loaded.
func (t *tx) remove(table, pk string, k map[string]types.AttributeValue, id string, loaded int64) int64 {
	cond := expectVersion(pk, loaded)
	item, err := del(table, k, &cond)
	t.add(rowID(table, id), item, err)
	return loaded + 1
}

// create puts rec under a key that must be free.
func (t *tx) create(table, pk, id string, rec any) {
	cond := expectVersion(pk, 0)
	t.put(rowID(table, id), table, rec, 0, &cond)
}

// SaveItem also writes the item's feed rows (feeds.go) and, at commit,
// its word rows (words.go).
func (t *tx) SaveItem(it *market.Item) int64 {
	st := it.State()
	before, err := t.storedItem(st)
	if err != nil {
		t.fail(err)
	}
	t.change(app.ChangedItem, st.ID, st.ID)
	rec := toItemRecord(st)
	if indexed(st) {
		rec.Words = t.nonce
	}
	version := t.save(t.s.t.items, "itemId", st.ID, rec, st.Version)
	t.writeFeeds(stateOf(before), &st, version)
	t.words.index(before, &rec)
	return version
}

// DeleteItem also deletes the item's feed rows and, after commit, its word
// rows.
func (t *tx) DeleteItem(it *market.Item) int64 {
	st := it.State()
	before, err := t.storedItem(st)
	if err != nil {
		t.fail(err)
	}
	t.change(app.ChangedItem, it.ID(), it.ID())
	t.writeFeeds(stateOf(before), nil, 0)
	t.words.index(before, nil)
	return t.remove(t.s.t.items, "itemId", key("itemId", it.ID()), it.ID(), it.Version())
}

// stateOf returns the item a record stores, nil for none.
func stateOf(rec *itemRecord) *market.ItemState {
	if rec == nil {
		return nil
	}
	st := rec.state()
	return &st
}

func (t *tx) SaveReservation(r *market.Reservation) int64 {
	st := r.State()
	t.change(app.ChangedReservation, st.ID, st.ItemID)
	return t.save(t.s.t.reservations, "rsvId", st.ID, toReservationRecord(st), st.Version)
}

func (t *tx) DeleteReservation(r *market.Reservation) int64 {
	t.change(app.ChangedReservation, r.ID(), r.ItemID())
	return t.remove(t.s.t.reservations, "rsvId", key("rsvId", r.ID()), r.ID(), r.Version())
}

func (t *tx) SavePayment(p *market.Payment) int64 {
	st := p.State()
	t.change(app.ChangedPayment, st.ID, st.ItemID)
	return t.save(t.s.t.payments, "payId", st.ID, toPaymentRecord(st), st.Version)
}

func (t *tx) SaveSeller(sl *market.Seller) int64 {
	rec := sellerRecord{SellerID: sl.ID, ScoreSum: sl.ScoreSum, ReviewCount: sl.ReviewCount, Scores: sl.Scores}
	return t.save(t.s.t.sellers, "sellerId", sl.ID, rec, sl.Version)
}

func (t *tx) AddMessage(m market.Message) {
	t.create(t.s.t.messages, "rsvId", m.RsvID+"|"+m.ID, toMessageRecord(m))
}

func (t *tx) AddReview(rv market.Review) {
	t.change(app.ChangedReview, rv.RsvID, rv.ItemID)
	t.create(t.s.t.reviews, "rsvId", rv.RsvID, toReviewRecord(rv))
}

// Publish writes the event's outbox row; its position orders the events
// of one commit.
func (t *tx) Publish(e cloudevents.Event) {
	rec, err := newOutboxRecord(e, t.now, len(t.published))
	if err != nil {
		t.fail(err)
		return
	}
	t.put(rowID(t.s.t.outbox, e.ID()), t.s.t.outbox, rec, 0, nil)
	t.published = append(t.published, e)
}

func (t *tx) MarkHandled(consumer string, e cloudevents.Event) { t.mark(app.HandledKey(consumer, e)) }

func (t *tx) MarkFact(consumer, fact string) { t.mark(app.FactKey(consumer, fact)) }

// mark creates the dedupe record k; if it exists, the unit of work is a
// duplicate.
func (t *tx) mark(k string) {
	t.create(t.s.t.handled, "key", k, handledRecord{Key: k, HandledAt: t.now, ExpiresAt: t.now.Add(handledTTL).Unix()})
	if t.err == nil {
		t.actions[len(t.actions)-1].duplicate = true
	}
}

// Row implements app.ViewTx.
func (t *tx) Row(itemID string) (*app.PageRow, error) {
	row, found, err := versioned(t, t.s.t.mypage, "itemId", itemID, "page row", rowRecord.row)
	if err != nil || !found {
		return nil, err
	}
	return &row, nil
}

// Deals implements app.ViewTx: every buyer-side row of one item, in
// reservation id order, with consistent reads.
func (t *tx) Deals(itemID string) ([]app.PageDeal, error) {
	return t.s.dealsOf(t.ctx, itemID)
}

func (t *tx) SaveRow(row *app.PageRow) {
	t.save(t.s.t.mypage, "itemId", row.ItemID, toRowRecord(*row), row.Version)
}

func (t *tx) DeleteRow(row *app.PageRow) {
	t.remove(t.s.t.mypage, "itemId", key("itemId", row.ItemID), row.ItemID, row.Version)
}

func (t *tx) SaveDeal(d *app.PageDeal) {
	t.save(t.s.t.deals, "itemId", d.ItemID+"|"+d.RsvID, toDealRecord(*d), d.Version)
}

func (t *tx) DeleteDeal(d *app.PageDeal) {
	t.remove(t.s.t.deals, "itemId", key2("itemId", d.ItemID, "rsvId", d.RsvID), d.ItemID+"|"+d.RsvID, d.Version)
}
