// Package apigw is keyward's one API Gateway translation layer: a REST API
// proxy-integration event in, a proxy response out. It reads the caller from
// the authorizer context, decodes request bodies strictly, maps domain error
// codes to HTTP statuses in one table, and routes on the resource template.
package apigw

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
)

// statusByCode is the one table mapping domain error codes to HTTP statuses.
var statusByCode = map[apikey.Code]int{
	apikey.ECodeInvalid:             http.StatusBadRequest,
	apikey.ECodeUnauthorized:        http.StatusUnauthorized,
	apikey.ECodeForbidden:           http.StatusForbidden,
	apikey.ECodeNotFound:            http.StatusNotFound,
	apikey.ECodeNameTaken:           http.StatusConflict,
	apikey.ECodeDefaultImmutable:    http.StatusConflict,
	apikey.ECodeConflict:            http.StatusConflict,
	apikey.ECodeTenantAlreadyExists: http.StatusConflict,
	apikey.ECodePreconditionFailed:  http.StatusPreconditionFailed,
	apikey.ECodeUnavailable:         http.StatusServiceUnavailable,
	apikey.ECodeInternal:            http.StatusInternalServerError,
}

// Transport codes: refusals of the HTTP exchange itself, before a request
// reaches the domain. They are this layer's own, never apikey.Codes.
const (
	CodeMethodNotAllowed = "method_not_allowed"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodePayloadTooLarge  = "payload_too_large"
	CodeRouteNotFound    = "not_found"
)

// TransportError refuses a request at the HTTP layer: a route or method
// that does not exist, a body that is too large or not JSON.
type TransportError struct {
	Status  int
	Code    string
	Message string
	allow   string // the Allow header of a 405
}

func (e *TransportError) Error() string { return e.Code + ": " + e.Message }

// statusFor returns the HTTP status for a domain error code; unknown codes
// are 500.
func statusFor(code apikey.Code) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is the public JSON error: {"error":{"code","message","field"?}}.
type errorBody struct {
	Error apikey.ErrorBody `json:"error"`
}

// internalBody is all a caller learns of an internal error.
var internalBody = apikey.ErrorBody{Code: string(apikey.ECodeInternal), Message: apikey.InternalMessage}

// classify returns the public form of err and whether it is internal (and so
// must be logged, with its text kept from the caller). Only transport errors
// and *apikey.Error values with a known, non-internal code are shown as they
// are.
func classify(err error) (status int, body apikey.ErrorBody, internal bool) {
	var te *TransportError
	if errors.As(err, &te) {
		return te.Status, apikey.ErrorBody{Code: te.Code, Message: te.Message}, false
	}
	e, ok := apikey.AsError(err)
	if !ok || e.Code == apikey.ECodeInternal {
		return http.StatusInternalServerError, internalBody, true
	}
	status, known := statusByCode[e.Code]
	if !known {
		return http.StatusInternalServerError, internalBody, true
	}
	return status, e.Public(), false
}

func errorResponse(status int, body apikey.ErrorBody) events.APIGatewayProxyResponse {
	b, _ := json.Marshal(errorBody{Error: body}) // strings only: it always encodes
	resp := events.APIGatewayProxyResponse{StatusCode: status, Headers: baseHeaders(), Body: string(b)}
	if status == http.StatusServiceUnavailable {
		resp.Headers["Retry-After"] = "1"
	}
	return resp
}
