package deploy

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/dynamo"
)

// DefaultPrefix is the table prefix the committed AWS files are generated
// for: the manifests' dynamodb-table-prefix.
const DefaultPrefix = dynamo.DefaultTablePrefix

// Paths of the generated files, relative to knative/aws.
const (
	TablesDir = "tables" // <table>.json: aws dynamodb create-table --cli-input-json
	TTLDir    = "ttl"    // <table>.json: aws dynamodb update-time-to-live --cli-input-json
	IAMDir    = "iam"    // carrot-<function>.json: aws iam create-policy --policy-document
)

// AWSFiles returns every file of knative/aws for tables under prefix, by
// path relative to knative/aws.
func AWSFiles(prefix string) (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(name string, v any) error {
		raw, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("deploy: %s: %w", name, err)
		}
		files[name] = append(raw, '\n')
		return nil
	}
	for _, t := range dynamo.Tables(prefix) {
		if err := add(path.Join(TablesDir, t.Name+".json"), CreateTableSpec(t)); err != nil {
			return nil, err
		}
		if ttl, ok := TTLSpec(t); ok {
			if err := add(path.Join(TTLDir, t.Name+".json"), ttl); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range registry.All {
		if !f.CallsAWS() {
			continue // no role to give a policy to
		}
		if err := add(path.Join(IAMDir, f.RoleName()+".json"), PolicyFor(f, prefix)); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// CreateTable is the request body of DynamoDB's CreateTable, shaped as the
// AWS CLI's --cli-input-json takes it. Its field names are the API's, so it
// decodes into dynamodb.CreateTableInput as well.
type CreateTable struct {
	TableName              string
	AttributeDefinitions   []AttributeDefinition
	KeySchema              []KeySchemaElement
	GlobalSecondaryIndexes []GlobalSecondaryIndex `json:",omitempty"`
	BillingMode            string
}

// AttributeDefinition, KeySchemaElement, GlobalSecondaryIndex and
// Projection mirror the API shapes of the same names.
type (
	AttributeDefinition struct {
		AttributeName string
		AttributeType string
	}
	KeySchemaElement struct {
		AttributeName string
		KeyType       string
	}
	GlobalSecondaryIndex struct {
		IndexName  string
		KeySchema  []KeySchemaElement
		Projection Projection
	}
	Projection struct {
		ProjectionType string
	}
)

// CreateTableSpec returns the CreateTable request of t: exactly what
// dynamo.CreateTables sends, so a table made from the spec on AWS is the
// table the code expects.
func CreateTableSpec(t dynamo.Table) CreateTable {
	in := t.CreateTableInput()
	spec := CreateTable{TableName: aws.ToString(in.TableName), BillingMode: string(in.BillingMode)}
	for _, d := range in.AttributeDefinitions {
		spec.AttributeDefinitions = append(spec.AttributeDefinitions, AttributeDefinition{aws.ToString(d.AttributeName), string(d.AttributeType)})
	}
	spec.KeySchema = keySchema(in.KeySchema)
	for _, ix := range in.GlobalSecondaryIndexes {
		g := GlobalSecondaryIndex{IndexName: aws.ToString(ix.IndexName), KeySchema: keySchema(ix.KeySchema)}
		if ix.Projection != nil {
			g.Projection.ProjectionType = string(ix.Projection.ProjectionType)
		}
		spec.GlobalSecondaryIndexes = append(spec.GlobalSecondaryIndexes, g)
	}
	return spec
}

func keySchema(elems []types.KeySchemaElement) []KeySchemaElement {
	var out []KeySchemaElement
	for _, e := range elems {
		out = append(out, KeySchemaElement{aws.ToString(e.AttributeName), string(e.KeyType)})
	}
	return out
}

// UpdateTimeToLive is the request body of DynamoDB's UpdateTimeToLive, as
// the AWS CLI's --cli-input-json takes it.
type UpdateTimeToLive struct {
	TableName               string
	TimeToLiveSpecification TimeToLiveSpecification
}

// TimeToLiveSpecification mirrors the API shape of the same name.
type TimeToLiveSpecification struct {
	AttributeName string
	Enabled       bool
}

// TTLSpec returns the request that enables t's TTL, as dynamo.CreateTables
// makes it; ok is false for a table without TTL.
func TTLSpec(t dynamo.Table) (spec UpdateTimeToLive, ok bool) {
	if t.TTLAttribute == "" {
		return UpdateTimeToLive{}, false
	}
	return UpdateTimeToLive{TableName: t.Name, TimeToLiveSpecification: TimeToLiveSpecification{AttributeName: t.TTLAttribute, Enabled: true}}, true
}

// The IAM actions each Access grants, and the one every function needs on
// every table at start. Actions the code does not call (UpdateItem,
// BatchGetItem...) are left out on purpose: a new call shows up as a
// denied request in tests/manifests_test.go before it does in production.
var (
	readActions     = []string{"dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"}
	writeActions    = []string{"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem"}
	describeActions = []string{"dynamodb:DescribeTable"}
)

// Policy is an IAM policy document.
type Policy struct {
	Version   string
	Statement []Statement
}

// Statement is one Allow statement of a Policy.
type Statement struct {
	Sid      string
	Effect   string
	Action   []string
	Resource []string
}

// TableARN is the ARN pattern of the table called name (prefix included)
// in any region of the role's account; an IAM role cannot reach another
// account's tables without that account's consent anyway.
func TableARN(name string) string { return "arn:aws:dynamodb:*:*:table/" + name }

// indexARN matches every index of the table called name.
func indexARN(name string) string { return TableARN(name) + "/index/*" }

// PolicyFor returns the IAM policy of f's role for tables under prefix:
// DescribeTable on every table (functions check all tables at start), and
// on each table f lists, the actions of its Access; reads cover the
// table's indexes too.
func PolicyFor(f registry.Function, prefix string) Policy {
	var all, read, write []string
	for _, t := range dynamo.Tables(prefix) {
		all = append(all, TableARN(t.Name))
		logical := t.Name[len(prefix):]
		access := f.Tables[registry.Table(logical)]
		if access&registry.Read != 0 {
			read = append(read, TableARN(t.Name))
			if len(t.Indexes) > 0 {
				read = append(read, indexARN(t.Name))
			}
		}
		if access&registry.Write != 0 {
			write = append(write, TableARN(t.Name))
		}
	}
	p := Policy{Version: "2012-10-17", Statement: []Statement{
		{Sid: "CheckTablesAtStart", Effect: "Allow", Action: describeActions, Resource: all},
	}}
	if len(read) > 0 {
		p.Statement = append(p.Statement, Statement{Sid: "Read", Effect: "Allow", Action: readActions, Resource: read})
	}
	if len(write) > 0 {
		p.Statement = append(p.Statement, Statement{Sid: "Write", Effect: "Allow", Action: writeActions, Resource: write})
	}
	return p
}

// Allows reports whether p allows action on resource, with IAM's matching:
// an action or resource pattern may hold * (any run of characters, "/"
// included) and ? (one character). Only Allow statements are considered;
// carrot's policies have no Deny.
func (p Policy) Allows(action, resource string) bool {
	for _, s := range p.Statement {
		if s.Effect != "Allow" {
			continue
		}
		if slices.ContainsFunc(s.Action, func(a string) bool { return wildcardMatch(a, action, true) }) &&
			slices.ContainsFunc(s.Resource, func(r string) bool { return wildcardMatch(r, resource, false) }) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against an IAM pattern, ignoring case when fold
// is set: IAM matches actions without regard to case, resources with it.
func wildcardMatch(pattern, s string, fold bool) bool {
	// Classic two-pointer glob matching with backtracking on the last *.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i] || (fold && equalFold(pattern[p], s[i]))):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func equalFold(a, b byte) bool {
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	return lower(a) == lower(b)
}
