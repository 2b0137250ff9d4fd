// Command gateway is the Knative function that is carrot's one public
// entry point in a cluster: it sends every route of the API to the
// cluster-local function that owns it.
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.Gateway)
}
