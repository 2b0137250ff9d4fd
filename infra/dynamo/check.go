package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CheckTables fails unless every table under prefix exists and is active
// (or updating, e.g. while an index is added, which still serves requests).
// Functions call it while wiring, so a missing table stops a process
// before it takes traffic instead of failing its requests.
//
// The tables are described all at once: a function's cold start waits for
// the slowest DescribeTable, not for the sum of all of them.
func CheckTables(ctx context.Context, client *dynamodb.Client, prefix string) error {
	tables := Tables(prefix)
	problems := make([]string, len(tables)) // a missing table's name, by position
	errs := make([]error, len(tables))
	var wg sync.WaitGroup
	for i, t := range tables {
		wg.Go(func() {
			out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
			var notFound *types.ResourceNotFoundException
			switch {
			case errors.As(err, &notFound):
				problems[i] = t.Name
			case err != nil:
				errs[i] = fmt.Errorf("dynamo: describe table %s: %w", t.Name, err)
			case out.Table.TableStatus != types.TableStatusActive && out.Table.TableStatus != types.TableStatusUpdating:
				problems[i] = t.Name + " (" + string(out.Table.TableStatus) + ")"
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	var missing []string
	for _, p := range problems {
		if p != "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("dynamo: tables missing or not active: %v; create them (DYNAMODB_CREATE_TABLES=true does it locally)", missing)
	}
	return nil
}
