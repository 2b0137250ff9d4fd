package dynamo

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigFromEnv(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"nothing set", map[string]string{},
			Config{TablePrefix: "carrot-"}},
		{"local endpoint defaults the region", map[string]string{EnvEndpoint: "http://127.0.0.1:8000"},
			Config{Endpoint: "http://127.0.0.1:8000", Region: "us-east-1", TablePrefix: "carrot-"}},
		{"everything set", map[string]string{EnvEndpoint: "http://localhost:8000", EnvRegion: "ap-northeast-2", EnvTablePrefix: "dev-"},
			Config{Endpoint: "http://localhost:8000", Region: "ap-northeast-2", TablePrefix: "dev-"}},
		{"AWS", map[string]string{EnvRegion: "ap-northeast-2"},
			Config{Region: "ap-northeast-2", TablePrefix: "carrot-"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{EnvEndpoint, EnvRegion, EnvTablePrefix} {
				t.Setenv(k, c.env[k])
			}
			got := ConfigFromEnv()
			assert.Equal(t, c.want, got)
			assert.NoError(t, got.Validate())
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]Config{
		"endpoint without scheme":    {Endpoint: "127.0.0.1:8000", TablePrefix: "carrot-"},
		"endpoint of another scheme": {Endpoint: "ftp://host", TablePrefix: "carrot-"},
		"prefix with a space":        {TablePrefix: "my tables"},
		"prefix with a slash":        {TablePrefix: "a/b"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assert.Error(t, c.Validate())
			_, err := NewClient(context.Background(), c)
			assert.Error(t, err, "NewClient validates")
		})
	}
}

func TestNewClientForLocal(t *testing.T) {
	t.Parallel()
	c, err := NewClient(context.Background(), Config{Endpoint: "http://127.0.0.1:1"})
	require.NoError(t, err, "a client is made without contacting DynamoDB")
	assert.Equal(t, "us-east-1", c.Options().Region)
	assert.Equal(t, "http://127.0.0.1:1", *c.Options().BaseEndpoint)
}

func TestTables(t *testing.T) {
	t.Parallel()
	tables := Tables("x-")
	names := map[string]bool{}
	for _, tb := range tables {
		names[tb.Name] = true
		in := tb.CreateTableInput()
		assert.Equal(t, "PAY_PER_REQUEST", string(in.BillingMode), tb.Name)
		defined := map[string]bool{}
		for _, d := range in.AttributeDefinitions {
			assert.False(t, defined[*d.AttributeName], "%s defines %s twice", tb.Name, *d.AttributeName)
			defined[*d.AttributeName] = true
		}
		used := map[string]bool{}
		for _, k := range in.KeySchema {
			used[*k.AttributeName] = true
		}
		for _, ix := range in.GlobalSecondaryIndexes {
			for _, k := range ix.KeySchema {
				used[*k.AttributeName] = true
			}
		}
		assert.Equal(t, used, defined, "%s defines exactly its key attributes", tb.Name)
	}
	for _, n := range []string{TableItems, TableReservations, TableMessages, TablePayments, TableReviews, TableSellers,
		TableClaims, TableOutbox, TableHandled, TableIdempotency, TableMyPage, TableMyPageDeals, TableChanges, TableFeed} {
		assert.True(t, names["x-"+n], n)
	}
	assert.Len(t, tables, 14)
}
