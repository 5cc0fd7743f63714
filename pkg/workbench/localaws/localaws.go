// Package localaws holds the one region and account ID every local stand-in
// (DynamoDB Local, the KMS endpoint, the Lambda and API Gateway emulators)
// uses, so ARNs built by one are understood by the others. Workbench only.
package localaws

const (
	// Region is the region of every local resource and client.
	Region = "us-east-1"
	// Account is the account ID in every local ARN.
	Account = "000000000000"
)
