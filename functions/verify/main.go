// Command verify is the verify Lambda function: it serves GET /v1/whoami and POST /v1/verify.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/verifyapi"
)

func main() {
	env := awsenv.MustLoad()
	v := verifyapi.New(env.Store, env.Hasher, env.Settings.Service.TokenPrefix)
	router := apigw.NewRouter(env.Logger, verifyapi.Routes(v)...)
	lambda.Start(router.Handle)
}
