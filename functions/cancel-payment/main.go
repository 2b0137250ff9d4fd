// Command cancel-payment is the Knative function that cancels payments.
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.CancelPayment)
}
