// Package apigw is keyward's one API Gateway translation layer: a REST API
// proxy-integration event in, a proxy response out. It reads the caller from
// the authorizer context, decodes request bodies strictly, maps domain error
// codes to HTTP statuses in one table, and routes on the resource template.
package apigw

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
)

// statusByCode is the one table mapping domain error codes to HTTP statuses.
var statusByCode = map[string]int{
	apikey.ECodeInvalid:             http.StatusBadRequest,
	apikey.ECodeUnauthorized:        http.StatusUnauthorized,
	apikey.ECodeForbidden:           http.StatusForbidden,
	apikey.ECodeNotFound:            http.StatusNotFound,
	apikey.ECodeMethodNotAllowed:    http.StatusMethodNotAllowed,
	apikey.ECodeNameTaken:           http.StatusConflict,
	apikey.ECodeDefaultImmutable:    http.StatusConflict,
	apikey.ECodeConflict:            http.StatusConflict,
	apikey.ECodeTenantAlreadyExists: http.StatusConflict,
	apikey.ECodePreconditionFailed:  http.StatusPreconditionFailed,
	apikey.ECodePayloadTooLarge:     http.StatusRequestEntityTooLarge,
	apikey.ECodeUnsupportedMedia:    http.StatusUnsupportedMediaType,
	apikey.ECodeUnavailable:         http.StatusServiceUnavailable,
	apikey.ECodeInternal:            http.StatusInternalServerError,
}

// internalMessage is the only thing a caller learns about an internal error.
const internalMessage = "internal error"

// Status returns the HTTP status for a domain error code; unknown codes are 500.
func Status(code string) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is the public JSON error: {"error":{"code","message","field"?}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// classify returns the public form of err and whether it is internal (and so
// must be logged, with its text kept from the caller). Only *apikey.Error
// values with a known, non-internal code are shown as they are.
func classify(err error) (status int, body errorDetail, internal bool) {
	e, ok := apikey.AsError(err)
	if !ok || e.Code == apikey.ECodeInternal {
		return http.StatusInternalServerError, errorDetail{Code: apikey.ECodeInternal, Message: internalMessage}, true
	}
	status, known := statusByCode[e.Code]
	if !known {
		return http.StatusInternalServerError, errorDetail{Code: apikey.ECodeInternal, Message: internalMessage}, true
	}
	return status, errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}, false
}

// ErrorResponse turns err into its HTTP response. It does not log: the Router
// logs internal errors once, in its access-log line.
func ErrorResponse(err error) events.APIGatewayProxyResponse {
	status, body, _ := classify(err)
	return errorResponse(status, body)
}

func errorResponse(status int, body errorDetail) events.APIGatewayProxyResponse {
	b, err := json.Marshal(errorBody{Error: body})
	if err != nil { // cannot happen: strings only
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	resp := events.APIGatewayProxyResponse{StatusCode: status, Headers: baseHeaders(), Body: string(b)}
	if status == http.StatusServiceUnavailable {
		resp.Headers["Retry-After"] = "1"
	}
	return resp
}
