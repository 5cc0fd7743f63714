// Package e2e holds keyward's end-to-end test: it starts the local stack
// (package localstack: DynamoDB Local, local KMS, every function as its real
// binary behind the Lambda and API Gateway emulators) on free ports with a
// temporary data directory, and drives every admin route over HTTP
// the way a client would. It has no code of its own.
package e2e
