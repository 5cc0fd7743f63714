// Command list is the list Lambda function: it serves GET /v1/keys and GET /v1/keys/{keyId}.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/awsenv"
)

func main() {
	env := awsenv.MustLoad()
	router := apigw.NewRouter(env.Logger, adminapi.ListRoutes(env.Service)...)
	lambda.Start(router.Handle)
}
