package deploy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Request is one authorization IAM makes for a DynamoDB call: an action on
// a table's or index's ARN.
type Request struct {
	Action   string
	Resource string
}

func (r Request) String() string { return r.Action + " on " + r.Resource }

// requestARN is the ARN of a concrete table in the account and region a
// request is checked in; policies name tables with wildcards for both.
func requestARN(table, index string) string {
	arn := "arn:aws:dynamodb:ap-northeast-2:111122223333:table/" + table
	if index != "" {
		arn += "/index/" + index
	}
	return arn
}

// RequestsOf returns the authorizations IAM checks for one DynamoDB call,
// given its input (*dynamodb.GetItemInput...). A transaction is checked per
// action, each against its own table. It fails on an input it does not
// know, so that a new kind of call cannot slip past the policy check.
func RequestsOf(params any) ([]Request, error) {
	one := func(action string, table *string, index *string) []Request {
		return []Request{{"dynamodb:" + action, requestARN(aws.ToString(table), aws.ToString(index))}}
	}
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		return one("GetItem", in.TableName, nil), nil
	case *dynamodb.PutItemInput:
		return one("PutItem", in.TableName, nil), nil
	case *dynamodb.DeleteItemInput:
		return one("DeleteItem", in.TableName, nil), nil
	case *dynamodb.UpdateItemInput:
		return one("UpdateItem", in.TableName, nil), nil
	case *dynamodb.QueryInput:
		return one("Query", in.TableName, in.IndexName), nil
	case *dynamodb.ScanInput:
		return one("Scan", in.TableName, in.IndexName), nil
	case *dynamodb.DescribeTableInput:
		return one("DescribeTable", in.TableName, nil), nil
	case *dynamodb.BatchWriteItemInput:
		var out []Request
		for _, table := range slices.Sorted(maps.Keys(in.RequestItems)) {
			out = append(out, Request{"dynamodb:BatchWriteItem", requestARN(table, "")})
		}
		return out, nil
	case *dynamodb.BatchGetItemInput:
		var out []Request
		for _, table := range slices.Sorted(maps.Keys(in.RequestItems)) {
			out = append(out, Request{"dynamodb:BatchGetItem", requestARN(table, "")})
		}
		return out, nil
	case *dynamodb.TransactWriteItemsInput:
		var out []Request
		for _, item := range in.TransactItems {
			switch {
			case item.Put != nil:
				out = append(out, one("PutItem", item.Put.TableName, nil)...)
			case item.Delete != nil:
				out = append(out, one("DeleteItem", item.Delete.TableName, nil)...)
			case item.Update != nil:
				out = append(out, one("UpdateItem", item.Update.TableName, nil)...)
			case item.ConditionCheck != nil:
				out = append(out, one("ConditionCheckItem", item.ConditionCheck.TableName, nil)...)
			}
		}
		return out, nil
	case *dynamodb.TransactGetItemsInput:
		var out []Request
		for _, item := range in.TransactItems {
			if item.Get != nil {
				out = append(out, one("GetItem", item.Get.TableName, nil)...)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("deploy: no IAM mapping for DynamoDB call %T", params)
}

// TableOf returns the table name in a request's resource.
func (r Request) TableOf() string {
	_, rest, _ := strings.Cut(r.Resource, ":table/")
	table, _, _ := strings.Cut(rest, "/")
	return table
}

// RecordRequests is a dynamodb.Options function that reports the IAM
// authorizations of every call the client makes, before it is sent, to
// record (with the error of RequestsOf for a call it does not know). Tests
// use it to check a function's policy against what the function does.
func RecordRequests(record func([]Request, error)) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("carrotRecordRequests",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					record(RequestsOf(in.Parameters))
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	}
}
