// Command write-review is the Knative function that takes buyers' reviews of completed deals.
package main

import (
	"github.com/carrot-market/carrot/functions/rest"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(boot.Function{Name: rest.WriteReview})
}
