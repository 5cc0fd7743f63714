// Command create is the create Lambda function: it serves POST /v1/keys.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/awsenv"
)

func main() {
	env := awsenv.MustLoad()
	router := apigw.NewRouter(env.Logger, adminapi.CreateRoutes(env.Service)...)
	lambda.Start(router.Handle)
}
