// Command list is the list Lambda function: it serves GET /v1/keys and GET /v1/keys/{keyId}.
// The pepper (for page cursors' MACs) starts loading at init, beside the
// first page's reads: a listing longer than a page needs it.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/unicoderules"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	hasher := kmspepper.New(kmsclient.NewFromConfig(base.AWS), store, s.KMSKeyID)
	hasher.Preload(context.Background())
	svc := apikey.NewService(store, hasher, unicoderules.Rules{}, s.Service)
	router := apigw.NewRouter(base.Logger, adminapi.ListRoutes(svc)...)
	lambda.Start(router.Handle)
}
