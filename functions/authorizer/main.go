// Command authorizer is the API Gateway REQUEST authorizer Lambda function:
// it authenticates every protected call and returns the routes the key may
// call (pkg/authorizer). It links the keys table and the pepper, nothing of
// the audit trail or the API Gateway management API.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	cfg := awsenv.Must(authorizer.ReadConfig(os.Getenv))
	cfg.TokenPrefix = s.Service.TokenPrefix
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	hasher := kmspepper.New(kmsclient.NewFromConfig(base.AWS), store, s.KMSKeyID)
	hasher.Preload(context.Background()) // every request needs the pepper
	a := authorizer.New(store, hasher, cfg, authorizer.WithLogger(base.Logger))
	// REST (REQUEST) and HTTP API (payload 2.0) events; the lastUsedAt write
	// ends after the answer is posted, before the next event is asked for.
	lambda.Start(a.HandleLambda)
}
