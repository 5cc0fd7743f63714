// Command reminders is the scheduled lifecycle function (EventBridge
// Scheduler): key.expiring, key.expired and key.unused events.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/reminders"
)

func main() {
	env := awsenv.MustLoadReminders()
	job := reminders.New(env.Store, env.Publisher, nil, env.Logger)
	lambda.Start(func(ctx context.Context, _ json.RawMessage) (reminders.Result, error) {
		return job.Run(ctx)
	})
}
