// Command audit is the audit Lambda function: it serves GET /v1/audit.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditapi"
	"github.com/keyward/keyward/pkg/awsenv"
)

func main() {
	env := awsenv.MustLoadAudit()
	svc := audit.NewService(env.AuditStore, env.Hasher)
	router := apigw.NewRouter(env.Logger, auditapi.Routes(svc)...)
	lambda.Start(router.Handle)
}
