// Command reconciler is the Knative function that a PingSource wakes on a
// schedule: it reads what changed since its last run and repairs any
// cross-aggregate state that still disagrees (app.Reconciler).
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.Reconciler)
}
