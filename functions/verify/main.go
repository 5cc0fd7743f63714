// Command verify is the verify Lambda function: it serves GET /v1/whoami, POST /v1/verify and, without a key, GET /v1/openapi.json.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/verifyapi"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	routes := awsenv.Must(routeScopes()) // whoami offers the protected APIs' scopes
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	hasher := kmspepper.New(kmsclient.NewFromConfig(base.AWS), store, s.KMSKeyID)
	hasher.Preload(context.Background()) // every verification needs the pepper
	v := verifyapi.New(store, hasher, s.Service.TokenPrefix,
		verifyapi.WithKeyTypes(s.Service.KeyTypes), verifyapi.WithRouteScopes(routes))
	router := apigw.NewRouter(base.Logger, verifyapi.Routes(v)...)
	lambda.Start(router.Handle)
}

func routeScopes() ([]apikey.RouteScope, error) {
	routes, err := authorizer.ParseRouteScopes(os.Getenv("ROUTE_SCOPES"))
	if err != nil {
		return nil, fmt.Errorf("ROUTE_SCOPES: %w", err)
	}
	return routes, nil
}
