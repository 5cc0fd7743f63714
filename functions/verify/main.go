// Command verify is the verify Lambda function: it serves GET /v1/whoami and POST /v1/verify.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/verifyapi"
)

func main() {
	env := awsenv.MustLoad()
	routes, err := authorizer.ParseRouteScopes(os.Getenv("ROUTE_SCOPES"))
	if err != nil {
		env.Logger.Error("init failed", "error", "ROUTE_SCOPES: "+err.Error())
		os.Exit(1)
	}
	v := verifyapi.New(env.Store, env.Hasher, env.Settings.Service.TokenPrefix,
		verifyapi.WithKeyTypes(env.Settings.Service.KeyTypes), verifyapi.WithRouteScopes(routes))
	router := apigw.NewRouter(env.Logger, verifyapi.Routes(v)...)
	lambda.Start(router.Handle)
}
