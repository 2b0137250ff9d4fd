// Command outbox-relay is the Knative function that a PingSource wakes on a
// schedule: it sends every event still in the outbox, such as those left
// by a broker outage, to the broker.
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.OutboxRelay)
}
