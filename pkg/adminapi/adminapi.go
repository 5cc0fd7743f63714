// Package adminapi serves keyward's key-administration routes on
// API Gateway: it reads the request through pkg/apigw, calls the key
// lifecycle service and encodes the result. Each Lambda function mounts only
// its own route set (CreateRoutes, ListRoutes, EditRoutes, RevokeRoutes).
package adminapi

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
)

// API Gateway resource templates of the key routes.
const (
	ResourceKeys        = "/v1/keys"
	ResourceKey         = "/v1/keys/{keyId}"
	ResourceRotate      = "/v1/keys/{keyId}/rotate"
	ResourceBatchRevoke = "/v1/keys/batch-revoke"
)

// Creator creates keys; *apikey.Service satisfies it.
type Creator interface {
	Create(ctx context.Context, c apikey.Caller, in apikey.CreateInput) (*apikey.Issued, error)
}

// Reader lists and reads keys; *apikey.Service satisfies it.
type Reader interface {
	List(ctx context.Context, c apikey.Caller, in apikey.ListInput) (*apikey.Page, error)
	Get(ctx context.Context, c apikey.Caller, id string) (*apikey.Key, error)
}

// Editor edits and rotates keys; *apikey.Service satisfies it.
type Editor interface {
	Update(ctx context.Context, c apikey.Caller, id string, in apikey.PatchInput, ifMatch *int64) (*apikey.Key, error)
	Rotate(ctx context.Context, c apikey.Caller, id string, in apikey.RotateInput, ifMatch *int64) (*apikey.Issued, error)
}

// Revoker revokes keys; *apikey.Service satisfies it.
type Revoker interface {
	Revoke(ctx context.Context, c apikey.Caller, id string) (*apikey.Key, error)
	BatchRevoke(ctx context.Context, c apikey.Caller, ids []string) ([]apikey.BatchResult, error)
}

var (
	_ Creator = (*apikey.Service)(nil)
	_ Reader  = (*apikey.Service)(nil)
	_ Editor  = (*apikey.Service)(nil)
	_ Revoker = (*apikey.Service)(nil)
)

// CreateRoutes are the create function's routes: POST /v1/keys.
func CreateRoutes(svc Creator) []apigw.Route {
	return []apigw.Route{
		{Method: http.MethodPost, Resource: ResourceKeys, Handler: createKey(svc)},
	}
}

// ListRoutes are the list function's routes: GET /v1/keys and GET /v1/keys/{keyId}.
func ListRoutes(svc Reader) []apigw.Route {
	return []apigw.Route{
		{Method: http.MethodGet, Resource: ResourceKeys, Handler: listKeys(svc)},
		{Method: http.MethodGet, Resource: ResourceKey, Handler: getKey(svc)},
	}
}

// EditRoutes are the edit function's routes: PATCH /v1/keys/{keyId} and
// POST /v1/keys/{keyId}/rotate.
func EditRoutes(svc Editor) []apigw.Route {
	return []apigw.Route{
		{Method: http.MethodPatch, Resource: ResourceKey, Handler: updateKey(svc)},
		{Method: http.MethodPost, Resource: ResourceRotate, Handler: rotateKey(svc)},
	}
}

// RevokeRoutes are the revoke function's routes: DELETE /v1/keys/{keyId} and
// POST /v1/keys/batch-revoke.
func RevokeRoutes(svc Revoker) []apigw.Route {
	return []apigw.Route{
		{Method: http.MethodDelete, Resource: ResourceKey, Handler: revokeKey(svc)},
		{Method: http.MethodPost, Resource: ResourceBatchRevoke, Handler: batchRevoke(svc)},
	}
}

func keyID(req events.APIGatewayProxyRequest) string { return req.PathParameters["keyId"] }

func createKey(svc Creator) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		var in apikey.CreateInput
		if err := apigw.DecodeJSON(req, &in); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		k, err := svc.Create(ctx, c, in)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSONVersioned(http.StatusCreated, k, k.Version)
	}
}

func listKeys(svc Reader) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		if err := apigw.KnownQuery(req, "limit", "cursor", "status", "type", "q"); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		in := apikey.ListInput{
			Cursor: apigw.Query(req, "cursor"),
			Status: apigw.Query(req, "status"),
			Type:   apigw.Query(req, "type"),
			Q:      apigw.Query(req, "q"),
		}
		var err error
		if in.Limit, err = apigw.QueryLimit(req, apikey.MaxListLimit); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		page, err := svc.List(ctx, c, in)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSON(http.StatusOK, page)
	}
}

func getKey(svc Reader) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		k, err := svc.Get(ctx, c, keyID(req))
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSONVersioned(http.StatusOK, k, k.Version)
	}
}

func updateKey(svc Editor) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		ifMatch, err := apigw.ParseIfMatch(req)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		var in apikey.PatchInput
		if err := apigw.DecodeJSON(req, &in); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		k, err := svc.Update(ctx, c, keyID(req), in, ifMatch)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSONVersioned(http.StatusOK, k, k.Version)
	}
}

func rotateKey(svc Editor) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		ifMatch, err := apigw.ParseIfMatch(req)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		var in apikey.RotateInput // an empty body rotates with no grace period
		if err := apigw.DecodeOptionalJSON(req, &in); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		k, err := svc.Rotate(ctx, c, keyID(req), in, ifMatch)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSONVersioned(http.StatusOK, k, k.Version)
	}
}

func revokeKey(svc Revoker) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		k, err := svc.Revoke(ctx, c, keyID(req))
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSONVersioned(http.StatusOK, k, k.Version)
	}
}

// BatchRevokeInput is the body of POST /v1/keys/batch-revoke.
type BatchRevokeInput struct {
	IDs []string `json:"ids"`
}

// BatchRevokeOutput is the response of POST /v1/keys/batch-revoke: one
// result per distinct ID, in request order.
type BatchRevokeOutput struct {
	Results []apikey.BatchResult `json:"results"`
}

func batchRevoke(svc Revoker) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		var in BatchRevokeInput
		if err := apigw.DecodeJSON(req, &in); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		results, err := svc.BatchRevoke(ctx, c, in.IDs)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSON(http.StatusOK, BatchRevokeOutput{Results: results})
	}
}
