// Command item-policy is the Knative function that moves items when their
// reservations complete, reopen or go away, and scores them from reviews.
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.ItemPolicy)
}
