// Command tenants is the tenants Lambda function: it serves /v1/tenants
// (create, list), /v1/tenants/{tenantId} and its suspend and resume. A
// suspension or resumption flushes the stage's authorizer cache (pkg/gwflush).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/gwflush"
	"github.com/keyward/keyward/pkg/tenantapi"
)

func main() {
	env := awsenv.MustLoad()
	flush := gwflush.New(apigateway.NewFromConfig(env.AWS), gwflush.StageFromEnv(os.Getenv), env.Logger)
	router := apigw.NewRouter(env.Logger, tenantapi.Routes(env.Service, flush)...)
	lambda.Start(flush.Wrap(router.Handle))
}
