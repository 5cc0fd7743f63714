// Command policy is the tenant key policy Lambda function: it serves
// GET and PUT /v1/policy.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/awsenv"
)

func main() {
	env := awsenv.MustLoad()
	router := apigw.NewRouter(env.Logger, adminapi.PolicyRoutes(env.Service)...)
	lambda.Start(router.Handle)
}
