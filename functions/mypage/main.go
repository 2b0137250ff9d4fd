// Command mypage is the Knative function that builds the MyPage read model
// from every fact its trigger delivers and answers MyPage queries (CQRS).
package main

import (
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
)

func main() {
	boot.Main(registry.MyPage)
}
