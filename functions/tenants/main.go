// Command tenants is the tenants Lambda function: it serves /v1/tenants
// (create, list), /v1/tenants/{tenantId} and its suspend and resume. The
// authorizer caches are flushed from the keys table's stream when a tenant's
// status changes (FlushFunction, pkg/gwflush).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/tenantapi"
	"github.com/keyward/keyward/pkg/unicoderules"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	hasher := kmspepper.New(kms.NewFromConfig(base.AWS), store, s.KMSKeyID)
	svc := apikey.NewService(store, hasher, unicoderules.Rules{}, s.Service)
	router := apigw.NewRouter(base.Logger, tenantapi.Routes(svc)...)
	lambda.Start(router.Handle)
}
