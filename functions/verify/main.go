// Command verify is the verify Lambda function: it serves GET /v1/whoami, POST /v1/verify and, without a key, GET /v1/openapi.json.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/verifyapi"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	hasher := kmspepper.New(kms.NewFromConfig(base.AWS), store, s.KMSKeyID)
	hasher.Preload(context.Background()) // every verification needs the pepper
	v := verifyapi.New(store, hasher, s.Service.TokenPrefix)
	router := apigw.NewRouter(base.Logger, verifyapi.Routes(v)...)
	lambda.Start(router.Handle)
}
