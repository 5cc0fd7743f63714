// Command console is the console Lambda function: it serves the admin
// console's page and assets (GET /console, GET /console/{asset+}).
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/console"
)

func main() {
	log := awsenv.NewLogger(os.Stdout, slog.LevelInfo)
	site, err := console.Load()
	if err != nil {
		log.Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(console.NewHandler(site, log).Handle)
}
