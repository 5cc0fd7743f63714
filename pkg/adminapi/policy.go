package adminapi

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
)

// ResourcePolicy is the tenant key policy's route.
const ResourcePolicy = "/v1/policy"

// PolicyKeeper reads and replaces tenant policies; *apikey.Service satisfies it.
type PolicyKeeper interface {
	GetPolicy(ctx context.Context, c apikey.Caller) (apikey.Policy, error)
	PutPolicy(ctx context.Context, c apikey.Caller, in apikey.Policy, ifMatch *int64) (apikey.Policy, error)
}

var _ PolicyKeeper = (*apikey.Service)(nil)

// PolicyRoutes are the policy function's routes: GET and PUT /v1/policy
// (keys:admin). GET answers with an ETag; PUT honours If-Match.
func PolicyRoutes(svc PolicyKeeper) []apigw.Route {
	return []apigw.Route{
		{Method: http.MethodGet, Resource: ResourcePolicy, Handler: getPolicy(svc)},
		{Method: http.MethodPut, Resource: ResourcePolicy, Handler: putPolicy(svc)},
	}
}

func getPolicy(svc PolicyKeeper) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		p, err := svc.GetPolicy(ctx, c)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSONVersioned(http.StatusOK, p, p.Version)
	}
}

func putPolicy(svc PolicyKeeper) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		ifMatch, err := apigw.ParseIfMatch(req)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		var in apikey.Policy
		if err := apigw.DecodeJSON(req, &in); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		p, err := svc.PutPolicy(ctx, c, in, ifMatch)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSONVersioned(http.StatusOK, p, p.Version)
	}
}
