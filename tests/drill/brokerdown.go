package drill

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/carrot-market/carrot/tests/system"
)

// BrokerDown stops the local runtime's Kafka while a seller lists items and
// a buyer asks to chat about each, 10 of each (3 in the short form). Every
// command must succeed: its events wait in the function's outbox. Once
// Kafka is back the outbox relay delivers them, and MyPage must show every
// item and chat created during the outage; the drill counts them.
func BrokerDown(ctx context.Context, e *Env, opts Options) (*Report, error) {
	return e.drill(ctx, "brokerdown", "Kafka stopped: commands succeed, every event arrives after", opts, func(r *run) error {
		return r.brokerDown(ctx, pick(opts, 10, 3))
	})
}

func (r *run) brokerDown(ctx context.Context, n int) error {
	const seller, buyer = "brokerdown-seller", "brokerdown-buyer"
	// The functions start before the outage, so that it is the broker
	// that is down, not their start-up.
	if _, err := r.dealUpTo(ctx, seller, buyer, "before the outage", "chat"); err != nil {
		return err
	}
	before, err := r.quiet(ctx)
	if err != nil {
		return err
	}
	if before.Kafka.External {
		r.row("skipped", "Kafka is external (KAFKA_BOOTSTRAP_SERVERS): stop it by hand, e.g. kubectl scale statefulset my-kafka-controller -n kafka --replicas=0")
		return nil
	}
	if err := r.env.SetKafka(ctx, false); err != nil {
		return err
	}
	r.mark("Kafka down")
	defer func() { _ = r.env.SetKafka(context.WithoutCancel(ctx), true) }()
	st, down := r.waitStatus(ctx, 10*time.Second, func(st system.Status) bool { return !st.Kafka.Up })
	r.check("the status shows Kafka down", down, "kafka: %+v", st.Kafka)

	var created []deal
	var failed []string
	for i := range n {
		d, err := r.dealUpTo(ctx, seller, buyer, fmt.Sprintf("listed while Kafka is down %d", i), "chat")
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		res := r.do(ctx, buyer, http.MethodPost, "/reservations/"+d.rsv+"/messages", map[string]any{"text": "hello"})
		if !res.OK() {
			failed = append(failed, "message: "+res.String())
		}
		created = append(created, d)
	}
	r.check("every command succeeded during the outage", len(failed) == 0, "%d items with a chat and a message; failed: %v", len(created), first(failed, 3))

	if err := r.env.SetKafka(ctx, true); err != nil {
		return err
	}
	r.mark("Kafka up")
	back := time.Now()
	arrived := 0
	for _, d := range created {
		if _, err := r.eventuallyPage(ctx, seller, d.item, func(p page) bool { return p.OpenChats == 1 }); err == nil {
			arrived++
		}
	}
	r.mark("all arrived")
	r.row("events after recovery", "%d of %d items with their chat on MyPage, %s after Kafka came back", arrived, len(created), time.Since(back).Round(100*time.Millisecond))
	r.check("every event arrived after recovery", arrived == len(created) && len(created) == n, "%d of %d items and chats reached MyPage", arrived, n)
	after, err := r.quiet(ctx)
	if err != nil {
		return err
	}
	r.checkNoEventLost(before, after)
	return nil
}
