// Command revoke is the revoke Lambda function: it serves DELETE /v1/keys/{keyId} and POST /v1/keys/batch-revoke.
// A revocation flushes the stage's authorizer cache (pkg/gwflush).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/gwflush"
)

func main() {
	env := awsenv.MustLoad()
	flush := gwflush.New(apigateway.NewFromConfig(env.AWS), gwflush.StageFromEnv(os.Getenv), env.Logger)
	router := apigw.NewRouter(env.Logger, adminapi.RevokeRoutes(flush.Revoker(env.Service))...)
	lambda.Start(flush.Wrap(router.Handle))
}
