// Package auditapi serves GET /v1/audit on API Gateway: it
// reads the request through pkg/apigw, asks the audit service for one page of
// the caller's tenant's audit records and encodes it.
package auditapi

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
)

// ResourceAudit is the API Gateway resource of the audit trail.
const ResourceAudit = "/v1/audit"

// Lister lists audit records; *audit.Service satisfies it.
type Lister interface {
	List(ctx context.Context, c apikey.Caller, in audit.ListInput) (*audit.Page, error)
}

var _ Lister = (*audit.Service)(nil)

// Routes are the audit function's routes: GET /v1/audit.
func Routes(svc Lister) []apigw.Route {
	return []apigw.Route{{Method: http.MethodGet, Resource: ResourceAudit, Handler: list(svc)}}
}

func list(svc Lister) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		if err := apigw.KnownQuery(req, "keyId", "action", "actor", "from", "to", "limit", "cursor"); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		in := audit.ListInput{
			KeyID:  apigw.Query(req, "keyId"),
			Action: apigw.Query(req, "action"),
			Actor:  apigw.Query(req, "actor"),
			From:   apigw.Query(req, "from"),
			To:     apigw.Query(req, "to"),
			Cursor: apigw.Query(req, "cursor"),
		}
		var err error
		if in.Limit, err = apigw.QueryLimit(req, audit.MaxLimit); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		page, err := svc.List(ctx, c, in)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		return apigw.JSON(http.StatusOK, page)
	}
}
