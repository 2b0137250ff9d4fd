package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CheckTables fails unless every table under prefix exists and is active
// (or updating, e.g. while an index is added, which still serves requests).
// Functions call it while wiring, so a missing table stops a process
// before it takes traffic instead of failing its requests.
func CheckTables(ctx context.Context, client *dynamodb.Client, prefix string) error {
	var missing []string
	for _, t := range Tables(prefix) {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
		var notFound *types.ResourceNotFoundException
		switch {
		case errors.As(err, &notFound):
			missing = append(missing, t.Name)
		case err != nil:
			return fmt.Errorf("dynamo: describe table %s: %w", t.Name, err)
		case out.Table.TableStatus != types.TableStatusActive && out.Table.TableStatus != types.TableStatusUpdating:
			missing = append(missing, t.Name+" ("+string(out.Table.TableStatus)+")")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("dynamo: tables missing or not active: %v; create them (DYNAMODB_CREATE_TABLES=true does it locally)", missing)
	}
	return nil
}
