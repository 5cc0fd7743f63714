// Command auditstream is the audit stream Lambda function: it turns the keys
// table's stream into append-only audit records.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/auditstream"
	"github.com/keyward/keyward/pkg/awsenv"
)

func main() {
	env := awsenv.MustLoadAuditStream()
	lambda.Start(auditstream.New(env.AuditStore, env.Logger).Handle)
}
