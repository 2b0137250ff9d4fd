package broker_test

import (
	"log"
	"net/http"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/carrot-market/carrot/infra/broker"
)

// The local runtime's wiring: Kafka in process (or KAFKA_BOOTSTRAP_SERVERS),
// the manifests of knative/eventing, and subscribers reached through the
// runtime's activator.
func Example() {
	if err := runBroker(); err != nil {
		log.Fatal(err)
	}
}

func runBroker() error {
	cfg, err := broker.LoadConfig("knative/eventing")
	if err != nil {
		return err // a bad manifest stops the runtime before it starts
	}
	seeds := strings.Split(os.Getenv("KAFKA_BOOTSTRAP_SERVERS"), ",")
	if seeds[0] == "" {
		cluster, err := broker.StartCluster("127.0.0.1:9092")
		if err != nil {
			return err
		}
		defer cluster.Close()
		seeds = cluster.Seeds()
	}
	resolve := func(service string) (string, error) {
		return "http://127.0.0.1:8080/activator/" + service, nil
	}
	b, err := broker.New(cfg, seeds, resolve, broker.WithLogger(zap.NewExample().Sugar()))
	if err != nil {
		return err
	}
	defer b.Close()
	return http.ListenAndServe("127.0.0.1:8081", b.Ingress()) // K_SINK=http://127.0.0.1:8081/
}
