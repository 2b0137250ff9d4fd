// Package dynamotest gives tests a DynamoDB to work against: DynamoDB
// Local at $DYNAMODB_ENDPOINT, which `make test` starts. Each store lives
// in tables of its own, so tests may run in parallel.
//
// Without an endpoint, or when it does not answer, the test is skipped,
// except under CI=true, where a skipped storage test would hide a broken
// setup and fails instead. An endpoint that answers but refuses requests
// fails the test everywhere.
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"

	"github.com/carrot-market/carrot/infra/dynamo"
)

var (
	once      sync.Once
	client    *dynamodb.Client
	clientErr string
	// broken says the endpoint answered but refused us: a broken setup,
	// which fails the test rather than skipping it.
	broken bool
)

// MustClient returns a client of the DynamoDB at $DYNAMODB_ENDPOINT after
// checking that it answers. It skips the test, or fails it under CI=true,
// when the endpoint is unset or does not answer.
func MustClient(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	once.Do(connect)
	if clientErr != "" {
		if broken || os.Getenv("CI") == "true" {
			tb.Fatalf("dynamotest: %s (CI=true: storage tests must run)", clientErr)
		}
		tb.Skipf("dynamotest: %s; run through `make test` or infra/dynamo/local/with-dynamodb.sh", clientErr)
	}
	return client
}

func connect() {
	endpoint := os.Getenv(dynamo.EnvEndpoint)
	if endpoint == "" {
		clientErr = dynamo.EnvEndpoint + " is not set"
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dynamo.NewClient(ctx, dynamo.Config{Endpoint: endpoint})
	if err != nil {
		clientErr, broken = err.Error(), true
		return
	}
	if _, err := c.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}); err != nil {
		var api smithy.APIError
		broken = errors.As(err, &api)
		clientErr = "DynamoDB at " + endpoint + " does not answer: " + err.Error()
		if broken {
			clientErr = "DynamoDB at " + endpoint + " refuses requests: " + err.Error()
		}
		return
	}
	client = c
}

// MustStore returns a Store over fresh tables under a random prefix, and
// deletes those tables when the test ends.
func MustStore(tb testing.TB) *dynamo.Store {
	tb.Helper()
	c := MustClient(tb)
	prefix := MustTables(tb, c)
	return dynamo.New(c, prefix)
}

// MustTables creates carrot's tables under a random prefix, returns the
// prefix and deletes the tables when the test ends.
func MustTables(tb testing.TB, c *dynamodb.Client) string {
	tb.Helper()
	prefix := RandomPrefix()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dynamo.DeleteTables(ctx, c, prefix); err != nil {
			tb.Errorf("dynamotest: %v", err)
		}
	})
	if err := dynamo.CreateTables(ctx, c, prefix); err != nil {
		tb.Fatalf("dynamotest: %v", err)
	}
	return prefix
}

// RandomPrefix returns a table prefix no other test uses, e.g. "t3fa9c01b-".
func RandomPrefix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return "t" + hex.EncodeToString(b) + "-"
}
