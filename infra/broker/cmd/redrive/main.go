// Command redrive sends the dead letters of carrot's triggers back to the
// broker, once the fault that failed them is fixed. It reads the
// dead-letter topic from where it stopped last time (its consumer group's
// committed offsets), posts each event to the broker ingress without its
// knativeerror* extensions, and prints what it did as JSON. Running it
// again re-drives nothing twice.
//
// Locally, beside `make run`:
//
//	go run ./infra/broker/cmd/redrive
//
// In a cluster, from a pod that reaches Kafka and the broker ingress:
//
//	kubectl run carrot-redrive -n carrot --rm -i --restart=Never \
//	  --image=$(ko build -B ./infra/broker/cmd/redrive) -- \
//	  -bootstrap my-kafka.kafka.svc.cluster.local:9092 \
//	  -ingress http://kafka-broker-ingress.knative-eventing.svc.cluster.local/carrot/carrot
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/carrot-market/carrot/infra/broker"
)

func main() {
	bootstrap := os.Getenv("KAFKA_BOOTSTRAP_SERVERS")
	if bootstrap == "" {
		bootstrap = "127.0.0.1:9092"
	}
	var cfg broker.RedriveConfig
	seeds := flag.String("bootstrap", bootstrap, "Kafka bootstrap servers, comma separated ($KAFKA_BOOTSTRAP_SERVERS)")
	flag.StringVar(&cfg.Ingress, "ingress", "http://127.0.0.1:8089/broker/default/carrot", "the broker ingress the dead letters are sent to")
	flag.StringVar(&cfg.Topic, "topic", broker.DefaultDeadLetterTopic, "the dead-letter topic (the KafkaSink's spec.topic)")
	flag.StringVar(&cfg.Group, "group", broker.DefaultRedriveGroup, "the consumer group that remembers what was re-driven")
	flag.DurationVar(&cfg.GiveUpAfter, "give-up-after", 0, "how long one dead letter is offered to an ingress that fails (default 1m)")
	flag.Parse()
	cfg.Seeds = strings.Split(*seeds, ",")

	logger, err := zap.NewProduction()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg.Log = logger.Sugar()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	result, err := broker.Redrive(ctx, cfg)
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
	if err != nil {
		cfg.Log.Errorw("redrive stopped; run it again once the broker takes events", "error", err)
		_ = logger.Sync()
		os.Exit(1)
	}
}
