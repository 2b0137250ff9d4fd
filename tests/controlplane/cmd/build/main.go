// Command build builds the programs of the control-plane test (etcd, the
// API server, Knative's webhooks and controllers) into their cache, once
// per machine; a later run finds them and returns at once.
//
//	go run ./tests/controlplane/cmd/build
package main

import (
	"fmt"
	"log"
	"time"

	"github.com/carrot-market/carrot/tests/controlplane"
)

func main() {
	began := time.Now()
	bins, err := controlplane.Build(controlplane.Options{Logf: log.Printf})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("control-plane binaries ready in %s: %s\n", time.Since(began).Round(time.Second), bins.KubeAPIServer)
}
