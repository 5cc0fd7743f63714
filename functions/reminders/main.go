// Command reminders is the scheduled lifecycle function (EventBridge
// Scheduler): key.expiring, key.expired and key.unused events. It reads no
// secret material, so it has no pepper.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/keyevents"
	"github.com/keyward/keyward/pkg/reminders"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	bus := awsenv.Must(awsenv.ReadEventBus(os.Getenv))
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	job := reminders.New(store, keyevents.NewPublisher(eventbridge.NewFromConfig(base.AWS), bus), nil, base.Logger)
	lambda.Start(job.Handle)
}
