// Package dynamo stores carrot's aggregates, its outbox, its consumer
// dedupe records, its HTTP idempotency records and the MyPage view in
// DynamoDB (Amazon's or DynamoDB Local). It implements app.Store and
// app.ViewStore, and keeps Idempotency-Key records that infra/boot adapts
// to web.IdempotencyStore; Tables is the one definition of the schema.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvEndpoint    = "DYNAMODB_ENDPOINT"     // e.g. http://127.0.0.1:8000 for DynamoDB Local
	EnvRegion      = "AWS_REGION"            // the AWS region
	EnvTablePrefix = "DYNAMODB_TABLE_PREFIX" // prepended to every table name
)

// DefaultTablePrefix is the table prefix when none is configured.
const DefaultTablePrefix = "carrot-"

// localRegion is the region used with an explicit endpoint when none is
// set: DynamoDB Local accepts any region.
const localRegion = "us-east-1"

// Config says which DynamoDB to talk to.
type Config struct {
	// Endpoint overrides the AWS endpoint, for DynamoDB Local. When it is
	// set, static dummy credentials are used and Region defaults to
	// us-east-1; when empty, the AWS default credential chain applies.
	Endpoint    string
	Region      string
	TablePrefix string
}

// ConfigFromEnv reads the configuration from the environment; call
// Validate (NewClient does) before use.
func ConfigFromEnv() Config {
	c := Config{
		Endpoint:    os.Getenv(EnvEndpoint),
		Region:      os.Getenv(EnvRegion),
		TablePrefix: os.Getenv(EnvTablePrefix),
	}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.TablePrefix == "" {
		c.TablePrefix = DefaultTablePrefix
	}
	if c.Endpoint != "" && c.Region == "" {
		c.Region = localRegion
	}
}

// tablePrefixPattern keeps every physical table name within DynamoDB's
// rules (3 to 255 characters of [a-zA-Z0-9_.-]), given the longest
// logical name.
var tablePrefixPattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]{0,200}$`)

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q is not an http(s) URL", EnvEndpoint, c.Endpoint))
		}
	}
	if !tablePrefixPattern.MatchString(c.TablePrefix) {
		errs = append(errs, fmt.Errorf("%s %q may hold only letters, digits, '_', '.' and '-' (at most 200)", EnvTablePrefix, c.TablePrefix))
	}
	return errors.Join(errs...)
}

// NewClient returns a DynamoDB client for c after applying defaults and
// validating it. It fails when no region can be found. It does not contact
// DynamoDB; CreateTables or a first request does. Every call it makes is
// measured in db.client.operation.duration, and is a client span (named
// as in "DynamoDB.TransactWriteItems", with its tables) of the global
// tracer provider: nowhere until infra/telemetry installs one.
func NewClient(ctx context.Context, c Config) (*dynamodb.Client, error) {
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("dynamo: %w", err)
	}
	var opts []func(*config.LoadOptions) error
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Endpoint != "" {
		// DynamoDB Local checks that credentials are present, not what
		// they are (the key id must be letters and digits only); dummy ones
		// keep a developer's real keys out of it.
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("carrotlocal", "carrotlocal", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("dynamo: load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("dynamo: no AWS region: set %s", EnvRegion)
	}
	otelaws.AppendMiddlewares(&cfg.APIOptions, otelaws.WithAttributeBuilder(otelaws.DefaultAttributeBuilder, otelaws.DynamoDBAttributeBuilder))
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		// The CRC32 response check of this SDK release wraps the body only
		// after it was read, so it checks nothing and logs a warning for
		// every response; TLS and the JSON decoder guard integrity.
		o.DisableValidateResponseChecksum = true
		o.APIOptions = append(o.APIOptions, measureCalls)
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	}), nil
}
