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

// handle answers both APIs: the REST API's proxy event and the HTTP API's
// payload format 2.0 event (told apart by its "version").
func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, err
	}
	if probe.Version == "2.0" {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		var auth map[string]any
		if ev.RequestContext.Authorizer != nil {
			auth = ev.RequestContext.Authorizer.Lambda
		}
		r, err := route(ev.RouteKey, ev.PathParameters, auth)
		return events.APIGatewayV2HTTPResponse{StatusCode: r.StatusCode, Headers: r.Headers, Body: r.Body}, err
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	auth := ev.RequestContext.Authorizer
	if l, ok := auth["lambda"].(map[string]any); ok { // an HTTP API's payload format 1.0
		auth = l
	}
	return route(ev.HTTPMethod+" "+ev.Resource, ev.PathParameters, auth)
}

// route answers each route. Which key may call which route is the
// authorizer's business (keyward's RouteScopes parameter); the function
// only reads who is calling.
func route(routeKey string, pathParams map[string]string, auth map[string]any) (events.APIGatewayProxyResponse, error) {
	tenant, _ := auth["tenantId"].(string)
	caller := map[string]any{"tenantId": tenant, "keyId": auth["keyId"], "keyName": auth["keyName"], "scopes": auth["scopes"]}
	id := pathParams["recordingId"]
	switch routeKey {
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
