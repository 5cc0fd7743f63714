// Command audit is the audit Lambda function: it serves GET /v1/audit. It
// reads the audit table and, for page cursors' MACs, the pepper (loaded on
// first use); it links nothing of the key service.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditapi"
	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	as := awsenv.Must(awsenv.ReadAuditTable(os.Getenv))
	db := dynamodb.NewFromConfig(base.AWS)
	hasher := kmspepper.New(kmsclient.NewFromConfig(base.AWS), dynamostore.New(db, s.Table), s.KMSKeyID)
	svc := audit.NewService(auditstore.New(db, as.Table, 0), hasher)
	router := apigw.NewRouter(base.Logger, auditapi.Routes(svc)...)
	lambda.Start(router.Handle)
}
