package dynamo_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
	"github.com/carrot-market/carrot/infra/telemetry/telemetrytest"
)

// The client measures every call by operation, and a failed one by
// DynamoDB's error code too. It runs alone: the parallel tests wait.
func TestClientMeasuresCalls(t *testing.T) {
	c := dynamotest.MustClient(t)
	callSeries := "db_client_operation_duration_seconds"
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		labels map[string]string
	}{
		{name: "a call", labels: map[string]string{"db_system_name": "aws.dynamodb", "db_operation_name": "ListTables"},
			call: func() error {
				_, err := c.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
				return err
			}},
		{name: "a failed call", labels: map[string]string{"db_operation_name": "DescribeTable", "error_type": "ResourceNotFoundException"},
			call: func() error {
				_, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(dynamotest.RandomPrefix() + "missing")})
				require.Error(t, err)
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := telemetrytest.MustRead(t).Value(callSeries, tt.labels)
			require.NoError(t, tt.call())
			assert.Equal(t, before+1, telemetrytest.MustRead(t).Value(callSeries, tt.labels))
		})
	}
	assert.False(t, telemetrytest.MustRead(t).Has(callSeries, map[string]string{"db_operation_name": "ListTables", "error_type": "ResourceNotFoundException"}),
		"a call that succeeded has no error")
}
