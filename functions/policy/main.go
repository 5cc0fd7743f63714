// Command policy is the tenant key policy Lambda function: it serves
// GET and PUT /v1/policy. It reads and writes the policy item and reads the
// calling key; it hashes nothing, so it has no pepper.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	svc := apikey.NewService(store, nil, nil, s.Service, apikey.WithPolicies(store))
	router := apigw.NewRouter(base.Logger, adminapi.PolicyRoutes(svc)...)
	lambda.Start(router.Handle)
}
