// Command events is the lifecycle events Lambda function: it publishes every
// key change on the keys table's stream to keyward's EventBridge bus.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/keyevents"
)

func main() {
	env := awsenv.MustLoadEvents()
	lambda.Start(keyevents.NewStreamHandler(env.Publisher, env.Logger).Handle)
}
