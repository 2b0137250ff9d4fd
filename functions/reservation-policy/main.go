// Command reservation-policy is the Knative function that completes a
// reservation when its payment is approved and reopens it when the payment
// is cancelled.
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.ReservationPolicy)
}
