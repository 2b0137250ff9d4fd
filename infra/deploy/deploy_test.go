package deploy_test

import (
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/deploy"
	"github.com/carrot-market/carrot/infra/dynamo"
)

var update = flag.Bool("update", false, "rewrite knative/aws from the generator")

// awsDir is where the generated files are committed.
var awsDir = filepath.Join("..", "..", "knative", "aws")

// TestAWSFilesAreGenerated keeps knative/aws equal to what the generator
// makes of dynamo.Tables and registry.All. Run `go generate
// ./infra/deploy` (this test with -update) to rewrite them.
func TestAWSFilesAreGenerated(t *testing.T) {
	want, err := deploy.AWSFiles(deploy.DefaultPrefix)
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.RemoveAll(awsDir))
		for name, data := range want {
			path := filepath.Join(awsDir, filepath.FromSlash(name))
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, data, 0o644))
		}
	}
	got := map[string][]byte{}
	err = filepath.WalkDir(awsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(awsDir, path)
		if err != nil {
			return err
		}
		got[filepath.ToSlash(rel)], err = os.ReadFile(path)
		return err
	})
	require.NoError(t, err, "run `go generate ./infra/deploy` to create knative/aws")
	for name, data := range want {
		if assert.Contains(t, got, name, "missing; run `go generate ./infra/deploy`") {
			assert.Equal(t, string(data), string(got[name]), "%s is stale; run `go generate ./infra/deploy`", name)
		}
	}
	for name := range got {
		assert.Contains(t, want, name, "%s is not generated; delete it or run `go generate ./infra/deploy`", name)
	}
}

// TestCreateTableSpecIsWhatTheCodeCreates decodes every generated table
// spec into the SDK's own request type, as the AWS CLI maps the same JSON,
// and expects exactly the request dynamo.CreateTables sends.
func TestCreateTableSpecIsWhatTheCodeCreates(t *testing.T) {
	files, err := deploy.AWSFiles(deploy.DefaultPrefix)
	require.NoError(t, err)
	for _, table := range dynamo.Tables(deploy.DefaultPrefix) {
		raw := files["tables/"+table.Name+".json"]
		require.NotNil(t, raw, table.Name)
		var got dynamodb.CreateTableInput
		require.NoError(t, json.Unmarshal(raw, &got))
		assert.Equal(t, table.CreateTableInput(), &got, table.Name)

		raw, ok := files["ttl/"+table.Name+".json"]
		assert.Equal(t, table.TTLAttribute != "", ok, "TTL spec of %s", table.Name)
		if ok {
			var ttl dynamodb.UpdateTimeToLiveInput
			require.NoError(t, json.Unmarshal(raw, &ttl))
			assert.Equal(t, dynamodb.UpdateTimeToLiveInput{
				TableName:               aws.String(table.Name),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(table.TTLAttribute), Enabled: aws.Bool(true)},
			}, ttl)
		}
	}
}

func TestFunctionsAreWellFormed(t *testing.T) {
	logical := map[string]bool{}
	for _, table := range dynamo.Tables("") {
		logical[table.Name] = true
	}
	names := make([]string, 0, len(registry.All))
	for _, f := range registry.All {
		names = append(names, f.Name)
		for table, access := range f.Tables {
			assert.True(t, logical[string(table)], "%s: %q is not a table of dynamo.Tables", f.Name, table)
			assert.NotZero(t, access, "%s: %s", f.Name, table)
		}
	}
	assert.True(t, slices.IsSorted(names), "Functions are sorted by name: %v", names)
	assert.Len(t, slices.Compact(slices.Clone(names)), len(names), "names are unique")
}

func TestPolicyGrantsExactlyTheListedAccess(t *testing.T) {
	f := registry.Function{Name: "x", Tables: map[registry.Table]registry.Access{
		registry.TableItems:   registry.Read,
		registry.TableHandled: registry.Write,
		registry.TableOutbox:  registry.ReadWrite,
	}}
	p := deploy.PolicyFor(f, "carrot-")
	arn := func(table string) string { return "arn:aws:dynamodb:ap-northeast-2:111122223333:table/" + table }
	cases := []struct {
		action, resource string
		allowed          bool
	}{
		{"dynamodb:GetItem", arn("carrot-items"), true},
		{"dynamodb:Query", arn("carrot-items") + "/index/bySeller", true},
		{"dynamodb:getitem", arn("carrot-items"), true}, // actions match without case
		{"dynamodb:PutItem", arn("carrot-items"), false},
		{"dynamodb:GetItem", arn("carrot-Items"), false}, // resources match with case
		{"dynamodb:PutItem", arn("carrot-handled"), true},
		{"dynamodb:GetItem", arn("carrot-handled"), false},
		{"dynamodb:BatchWriteItem", arn("carrot-outbox"), true},
		{"dynamodb:Scan", arn("carrot-outbox"), true},
		{"dynamodb:UpdateItem", arn("carrot-outbox"), false},
		{"dynamodb:DescribeTable", arn("carrot-payments"), true}, // every table, at start
		{"dynamodb:GetItem", arn("carrot-payments"), false},
		{"dynamodb:GetItem", arn("other-items"), false},
		{"dynamodb:DeleteTable", arn("carrot-items"), false},
	}
	for _, c := range cases {
		assert.Equal(t, c.allowed, p.Allows(c.action, c.resource), "%s on %s", c.action, c.resource)
	}
}

func TestRequestsOfTransactionChecksEveryAction(t *testing.T) {
	got, err := deploy.RequestsOf(&dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("carrot-items")}},
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String("carrot-claims")}},
		{Delete: &types.Delete{TableName: aws.String("carrot-claims")}},
	}})
	require.NoError(t, err)
	var actions []string
	for _, r := range got {
		actions = append(actions, r.Action+" "+r.TableOf())
	}
	assert.Equal(t, []string{"dynamodb:PutItem carrot-items", "dynamodb:ConditionCheckItem carrot-claims", "dynamodb:DeleteItem carrot-claims"}, actions)

	got, err = deploy.RequestsOf(&dynamodb.QueryInput{TableName: aws.String("carrot-items"), IndexName: aws.String("bySeller")})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.True(t, strings.HasSuffix(got[0].Resource, ":table/carrot-items/index/bySeller"), got[0].Resource)

	_, err = deploy.RequestsOf(&dynamodb.CreateBackupInput{})
	assert.Error(t, err, "an unknown call is refused, not waved through")
}
