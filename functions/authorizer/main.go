// Command authorizer is the API Gateway REQUEST authorizer Lambda function:
// it authenticates every protected call and returns the routes the key may
// call (pkg/authorizer).
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/awsenv"
)

func main() {
	env := awsenv.MustLoad()
	cfg, err := authorizer.ReadConfig(os.Getenv)
	if err != nil {
		env.Logger.Error("init failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	cfg.TokenPrefix = env.Settings.Service.TokenPrefix
	a := authorizer.New(env.Store, env.Hasher, cfg, authorizer.WithLogger(env.Logger))
	lambda.Start(a.HandleEvent) // REST (REQUEST) and HTTP API (payload 2.0) events
}
