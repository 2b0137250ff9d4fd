// Command register-item is the Knative function that lists, edits, deletes and shows items.
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.RegisterItem)
}
