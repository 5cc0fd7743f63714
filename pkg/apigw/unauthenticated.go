package apigw

import "github.com/aws/aws-lambda-go/events"

// ErrorResponse turns err into its response through the one code → status
// table, for handlers outside the Router (POST /v1/leaks, which carries no
// key). It does not log: an internal error's text is the caller's to log.
func ErrorResponse(err error) events.APIGatewayProxyResponse {
	status, body, _ := classify(err)
	return errorResponse(status, body)
}
