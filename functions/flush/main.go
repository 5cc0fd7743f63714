// Command flush is the flush Lambda function: it flushes the authorizer
// cache of every stage (REST or HTTP API) the authorizer serves when a key change must stop
// a credential (from the keys table's stream) and when a key's expiry or
// grace period ends (every minute, by schedule), so revocation and expiry
// are immediate on every protected API (pkg/gwflush).
package main

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/gwflush"
)

func main() {
	log := awsenv.NewLogger(os.Stdout, slog.LevelInfo)
	table := strings.TrimSpace(os.Getenv("KEYS_TABLE"))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if table == "" || err != nil {
		log.Error("init failed: KEYS_TABLE and the AWS configuration are required")
		os.Exit(1)
	}
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	lambda.Start(gwflush.NewEverywhere(apigateway.NewFromConfig(cfg), apigatewayv2.NewFromConfig(cfg), store, log).Handle)
}
