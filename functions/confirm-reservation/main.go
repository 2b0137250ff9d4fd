// Command confirm-reservation is the Knative function that confirms a reservation's meeting, holding its item, and deletes reservations.
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.ConfirmReservation)
}
