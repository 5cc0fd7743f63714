// Command flush is the flush Lambda function: it flushes the authorizer
// cache of every stage (REST or HTTP API) the authorizer serves when a key change must stop
// a credential (from the keys table's stream) and when a key's expiry or
// grace period ends (every minute, by schedule), so revocation and expiry
// are immediate on every protected API (pkg/gwflush).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/gwflush"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	lambda.Start(gwflush.NewEverywhere(apigateway.NewFromConfig(base.AWS), apigatewayv2.NewFromConfig(base.AWS), store, base.Logger).Handle)
}
