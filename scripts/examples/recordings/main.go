// Command recordings is a sample protected API — a small "recordings"
// service of a platform — guarded by keyward's authorizer. It trusts what
// the authorizer hands it in requestContext.authorizer (tenantId, keyId,
// keyName, keyType, scopes, metadata) and never sees a credential. Its
// template (template.yaml beside it) attaches the authorizer that keyward's
// stack exports; `make run APIS=scripts/examples/recordings/template.yaml`
// serves it locally.
package main

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// recording is what the sample serves: made-up data of the caller's tenant.
type recording struct {
	ID       string `json:"id"`
	TenantID string `json:"tenantId"`
	Title    string `json:"title"`
}

// handle answers each route. Which key may call which route is the
// authorizer's business (keyward's RouteScopes parameter); the function
// only reads who is calling.
func handle(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	auth := req.RequestContext.Authorizer
	if l, ok := auth["lambda"].(map[string]any); ok { // an HTTP API's authorizer context
		auth = l
	}
	tenant, _ := auth["tenantId"].(string)
	caller := map[string]any{"tenantId": tenant, "keyId": auth["keyId"], "keyName": auth["keyName"], "scopes": auth["scopes"]}
	id := req.PathParameters["recordingId"]
	switch req.HTTPMethod + " " + req.Resource {
	case "GET /recordings":
		return reply(http.StatusOK, map[string]any{"items": []recording{{ID: "rec-1", TenantID: tenant, Title: "Call 1"}}, "caller": caller})
	case "GET /recordings/{recordingId}":
		return reply(http.StatusOK, map[string]any{"recording": recording{ID: id, TenantID: tenant, Title: "Call " + id}, "caller": caller})
	case "GET /recordings/{recordingId}/audio":
		return reply(http.StatusOK, map[string]any{"id": id, "audioUrl": "https://example.com/audio/" + id, "caller": caller})
	case "POST /recordings":
		return reply(http.StatusCreated, map[string]any{"recording": recording{ID: "rec-new", TenantID: tenant, Title: "New"}, "caller": caller})
	}
	return reply(http.StatusNotFound, map[string]any{"error": map[string]string{"code": "not_found", "message": "no such route"}})
}

func reply(status int, body any) (events.APIGatewayProxyResponse, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return events.APIGatewayProxyResponse{StatusCode: http.StatusInternalServerError}, nil
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}, nil
}

func main() { lambda.Start(handle) }
