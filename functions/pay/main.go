// Command pay is the Knative function that approves payments of confirmed reservations.
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.Pay)
}
