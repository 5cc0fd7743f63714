package apigw

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// baseHeaders are on every response: JSON, never cached (responses may hold a
// secret, and every one is tenant-specific).
func baseHeaders() map[string]string {
	return map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
}

// JSON returns a response with status and v encoded as its JSON body.
func JSON(status int, v any) (events.APIGatewayProxyResponse, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("encode response: %w", err)
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: baseHeaders(), Body: string(b)}, nil
}

// JSONVersioned is JSON for a single versioned resource: it adds
// ETag: "<version>", which If-Match on a later write may quote back.
func JSONVersioned(status int, v any, version int64) (events.APIGatewayProxyResponse, error) {
	resp, err := JSON(status, v)
	if err != nil {
		return resp, err
	}
	resp.Headers["ETag"] = ETag(version)
	return resp, nil
}

// ETag is the entity tag of a resource version: the version, quoted.
func ETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }
