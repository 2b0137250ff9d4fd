package dynamo

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(name, value string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{name: str(value)}
}

func key2(pk, pv, sk, sv string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{pk: str(pv), sk: str(sv)}
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
