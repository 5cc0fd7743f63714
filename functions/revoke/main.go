// Command revoke is the revoke Lambda function: it serves DELETE /v1/keys/{keyId} and POST /v1/keys/batch-revoke.
// The authorizer caches are flushed from the keys table's stream (FlushFunction, pkg/gwflush).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/awsenv"
)

func main() {
	env := awsenv.MustLoad()
	router := apigw.NewRouter(env.Logger, adminapi.RevokeRoutes(env.Service)...)
	lambda.Start(router.Handle)
}
