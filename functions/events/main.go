// Command events is the lifecycle events Lambda function: it publishes every
// key change on the keys table's stream to keyward's EventBridge bus.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/keyevents"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	bus := awsenv.Must(awsenv.ReadEventBus(os.Getenv))
	pub := keyevents.NewPublisher(eventbridge.NewFromConfig(base.AWS), bus)
	lambda.Start(keyevents.NewStreamHandler(pub, base.Logger).Handle)
}
