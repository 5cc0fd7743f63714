// Command auditstream is the audit stream Lambda function: it turns the keys
// table's stream into append-only audit records. It needs the audit table
// alone: no KMS key, hasher or keys table.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/auditstream"
	"github.com/keyward/keyward/pkg/awsenv"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	as := awsenv.Must(awsenv.ReadAuditSettings(os.Getenv))
	store := auditstore.New(dynamodb.NewFromConfig(base.AWS), as.Table, as.Retention)
	lambda.Start(auditstream.New(store, base.Logger).Handle)
}
