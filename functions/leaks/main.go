// Command leaks is the leak report Lambda function: it serves POST /v1/leaks
// (GitHub's secret scanning partner protocol). A leaked key it revokes is
// flushed from the authorizer caches like any revocation: from the keys
// table's stream (FlushFunction).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/leaks"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	keys, perSecond, err := leaks.Settings(os.Getenv)
	awsenv.Must(struct{}{}, err)
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	hasher := kmspepper.New(kmsclient.NewFromConfig(base.AWS), store, s.KMSKeyID)
	hasher.Preload(context.Background()) // every report's tokens are checked with the pepper
	svc := apikey.NewService(store, hasher, nil, s.Service, apikey.WithPolicies(store))
	lambda.Start(leaks.New(keys, svc, nil, perSecond, base.Logger).Handle)
}
