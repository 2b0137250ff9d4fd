// Package deploy holds what deploying carrot needs beyond the Knative
// manifests themselves: the AWS artefacts generated from the functions'
// declared table access (functions/registry) and from dynamo.Tables: the
// create-table and TTL specs of every table and one IAM policy per
// function that calls AWS (registry.Function.CallsAWS), committed under
// knative/aws.
//
// The committed files are checked against the generator by this package's
// tests; after changing the registry or the tables, regenerate them with
//
//	go generate ./infra/deploy
package deploy

//go:generate go test -run TestAWSFilesAreGenerated -update
