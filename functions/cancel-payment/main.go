// Command cancel-payment is the Knative function that cancels payments.
package main

import (
	"github.com/carrot-market/carrot/functions/rest"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(boot.Function{Name: rest.CancelPayment})
}
