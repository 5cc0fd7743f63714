// Command leaks is the leak report Lambda function: it serves POST /v1/leaks
// (GitHub's secret scanning partner protocol). A leaked key it revokes
// flushes the stage's authorizer cache like any revocation (pkg/gwflush).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/gwflush"
	"github.com/keyward/keyward/pkg/leaks"
)

func main() {
	env := awsenv.MustLoad()
	keys, perSecond, err := leaks.Settings(os.Getenv)
	if err != nil {
		env.Logger.LogAttrs(context.Background(), slog.LevelError, "init failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	flush := gwflush.New(apigateway.NewFromConfig(env.AWS), gwflush.StageFromEnv(os.Getenv), env.Logger)
	h := leaks.New(keys, env.Service, flush, perSecond, env.Logger)
	lambda.Start(flush.Wrap(h.Handle))
}
