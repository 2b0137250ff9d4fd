// Command write-review is the Knative function that takes buyers' reviews of completed deals.
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.WriteReview)
}
