// Package deploy holds what deploying carrot needs beyond the Knative
// manifests themselves: the one list of which DynamoDB tables each function
// reads and writes (Functions), and the AWS artefacts generated from it and
// from dynamo.Tables: the create-table and TTL specs of every table and one
// IAM policy per function, committed under knative/aws.
//
// The committed files are checked against the generator by this package's
// tests; after changing Functions or the tables, regenerate them with
//
//	go generate ./infra/deploy
package deploy

//go:generate go test -run TestAWSFilesAreGenerated -update

import (
	"slices"

	"github.com/carrot-market/carrot/infra/dynamo"
)

// Access is what a function does with one table.
type Access uint8

// Read covers GetItem, Query and Scan (of the table and its indexes) and
// the ConditionCheck of a transaction; Write covers PutItem and DeleteItem,
// alone or in a transaction, and BatchWriteItem. Conditional writes need no
// Read: the condition is evaluated by DynamoDB, not read by the caller.
const (
	Read Access = 1 << iota
	Write

	ReadWrite = Read | Write
)

// Function is one Knative function as deploying it needs to know it.
type Function struct {
	// Name is the Knative Service's name; its ServiceAccount and IAM role
	// are "carrot-" + Name.
	Name string
	// Tables maps the logical name of every table the function touches
	// (dynamo.TableItems...) to what it does there. Every function also
	// describes every table at start (dynamo.CheckTables), which is not
	// listed here.
	Tables map[string]Access
}

// RoleName is the name of the function's ServiceAccount and IAM role.
func (f Function) RoleName() string { return "carrot-" + f.Name }

// emitterTables adds what publishing events needs: the outbox row is
// written with the command's transaction, deleted once sent, and the
// outbox is scanned to relay what is left when the publisher fell behind
// (and by the outbox relay).
func emitterTables(tables map[string]Access) map[string]Access {
	tables[dynamo.TableOutbox] = ReadWrite
	return tables
}

// Functions is every function of carrot, sorted by name, with the tables
// it touches. tests/manifests_test.go runs every function on DynamoDB Local
// and checks that its policy allows each call it makes and that it touches
// every table listed here, and that the manifests name these functions.
var Functions = []Function{
	{
		Name: "cancel-payment",
		Tables: emitterTables(map[string]Access{
			dynamo.TablePayments: ReadWrite,
			dynamo.TableClaims:   Write, // frees the payment claim
		}),
	},
	{
		Name: "confirm-reservation",
		Tables: emitterTables(map[string]Access{
			dynamo.TableReservations: ReadWrite,
			dynamo.TableItems:        ReadWrite,
			dynamo.TableClaims:       ReadWrite, // requires the payment claim free, frees the chat claim
		}),
	},
	{
		Name: "item-policy",
		Tables: emitterTables(map[string]Access{
			dynamo.TableItems:   ReadWrite,
			dynamo.TableSellers: ReadWrite,
			dynamo.TableHandled: Write,
		}),
	},
	{
		Name: "mypage",
		Tables: map[string]Access{
			dynamo.TableMyPage:      ReadWrite,
			dynamo.TableMyPageDeals: ReadWrite,
			dynamo.TableHandled:     Write,
		},
	},
	{
		Name:   "outbox-relay",
		Tables: emitterTables(map[string]Access{}),
	},
	{
		Name: "pay",
		Tables: emitterTables(map[string]Access{
			dynamo.TableReservations: Read,
			dynamo.TableItems:        Read,
			dynamo.TableClaims:       ReadWrite,
			dynamo.TablePayments:     ReadWrite,
			dynamo.TableIdempotency:  ReadWrite,
		}),
	},
	{
		Name: "register-item",
		Tables: emitterTables(map[string]Access{
			dynamo.TableItems:       ReadWrite,
			dynamo.TableIdempotency: ReadWrite,
		}),
	},
	{
		Name: "request-chat",
		Tables: emitterTables(map[string]Access{
			dynamo.TableItems:        Read,
			dynamo.TableClaims:       ReadWrite,
			dynamo.TableReservations: ReadWrite,
			dynamo.TableMessages:     ReadWrite,
			dynamo.TableIdempotency:  ReadWrite,
		}),
	},
	{
		Name: "reservation-policy",
		Tables: emitterTables(map[string]Access{
			dynamo.TableReservations: ReadWrite,
			dynamo.TableHandled:      Write,
		}),
	},
	{
		Name: "write-review",
		Tables: emitterTables(map[string]Access{
			dynamo.TableReservations: Read,
			dynamo.TableReviews:      Write,
			dynamo.TableIdempotency:  ReadWrite,
		}),
	},
}

// FunctionNamed returns the function called name.
func FunctionNamed(name string) (Function, bool) {
	i := slices.IndexFunc(Functions, func(f Function) bool { return f.Name == name })
	if i < 0 {
		return Function{}, false
	}
	return Functions[i], true
}
