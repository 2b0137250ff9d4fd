// Command request-chat is the Knative function that opens reservations (chats) and carries their messages.
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.RequestChat)
}
