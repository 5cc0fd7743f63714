// Package tenantapi serves keyward's tenant routes on API Gateway
// (tenants:admin, platform keys of the operator tenant only): create a tenant
// with its default key, list and read tenants, suspend and resume them.
package tenantapi

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
)

// API Gateway resource templates of the tenant routes.
const (
	ResourceTenants = "/v1/tenants"
	ResourceTenant  = "/v1/tenants/{tenantId}"
	ResourceSuspend = "/v1/tenants/{tenantId}/suspend"
	ResourceResume  = "/v1/tenants/{tenantId}/resume"
)

// Service administers tenants; *apikey.Service satisfies it.
type Service interface {
	CreateTenant(ctx context.Context, c apikey.Caller, in apikey.CreateTenantInput) (*apikey.CreatedTenant, error)
	ListTenants(ctx context.Context, c apikey.Caller, limit int, cursor string) (*apikey.TenantPage, error)
	GetTenant(ctx context.Context, c apikey.Caller, id string) (*apikey.Tenant, error)
	SetTenantStatus(ctx context.Context, c apikey.Caller, id string, status apikey.TenantStatus) (*apikey.Tenant, error)
}

var _ Service = (*apikey.Service)(nil)

// Routes are the tenants function's routes (the router checks tenants:admin
// from apikey's route table before a body is read; the service checks the
// operator tenant). A suspension or resumption reaches the keys table's
// stream as a change of the tenant item, which flushes the gateways'
// authorizer caches (pkg/gwflush), so no cached Allow outlives it.
func Routes(svc Service) []apigw.Route {
	return []apigw.Route{
		{Method: http.MethodPost, Resource: ResourceTenants, Handler: create(svc)},
		{Method: http.MethodGet, Resource: ResourceTenants, Handler: list(svc)},
		{Method: http.MethodGet, Resource: ResourceTenant, Handler: get(svc)},
		{Method: http.MethodPost, Resource: ResourceSuspend, Handler: setStatus(svc, apikey.TenantSuspended)},
		{Method: http.MethodPost, Resource: ResourceResume, Handler: setStatus(svc, apikey.TenantActive)},
	}
}

type handler = func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error)

func tenantID(req events.APIGatewayProxyRequest) string { return req.PathParameters["tenantId"] }

func create(svc Service) handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		var in apikey.CreateTenantInput
		if err := apigw.DecodeJSON(req, &in); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		t, err := svc.CreateTenant(ctx, c, in)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSONVersioned(http.StatusCreated, t, t.Version)
	}
}

func list(svc Service) handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		if err := apigw.KnownQuery(req, "limit", "cursor"); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		limit, err := apigw.QueryLimit(req, apikey.MaxListLimit)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		page, err := svc.ListTenants(ctx, c, limit, apigw.Query(req, "cursor"))
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSON(http.StatusOK, page)
	}
}

func get(svc Service) handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		t, err := svc.GetTenant(ctx, c, tenantID(req))
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSONVersioned(http.StatusOK, t, t.Version)
	}
}

func setStatus(svc Service, status apikey.TenantStatus) handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		var in struct{} // no fields: an empty body, or {}
		if err := apigw.DecodeOptionalJSON(req, &in); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		t, err := svc.SetTenantStatus(ctx, c, tenantID(req), status)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSONVersioned(http.StatusOK, t, t.Version)
	}
}
