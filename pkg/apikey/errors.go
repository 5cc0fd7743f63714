package apikey

import (
	"errors"
	"fmt"
)

// Error codes. Exactly one place (the API Gateway adapter) maps them to HTTP
// status codes and the public JSON error body.
const (
	ECodeInvalid             = "invalid_request"
	ECodeUnauthorized        = "unauthorized"
	ECodeForbidden           = "forbidden"
	ECodeNotFound            = "not_found"
	ECodeNameTaken           = "name_taken"
	ECodeDefaultImmutable    = "default_key_immutable"
	ECodeConflict            = "conflict"
	ECodePreconditionFailed  = "precondition_failed"
	ECodePayloadTooLarge     = "payload_too_large"
	ECodeUnavailable         = "unavailable"
	ECodeInternal            = "internal"
	ECodeUnsupportedMedia    = "unsupported_media_type"
	ECodeMethodNotAllowed    = "method_not_allowed"
	ECodeRouteNotFound       = "not_found"
	ECodeTenantAlreadyExists = "tenant_exists"
)

// Error is the domain error: a code, a public message safe to show a caller,
// and optionally the request field it concerns. Anything that is not an
// *Error is an internal error and is never shown to a caller.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

// Errorf returns a domain error with a formatted public message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an invalid_request error naming the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: ECodeInvalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it wraps an *Error, else ECodeInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ECodeInternal
}

// AsError returns the *Error wrapped by err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Sentinel-like constructors used across packages.
var (
	// ErrNotFound is returned when a key does not exist or belongs to another tenant.
	ErrNotFound = &Error{Code: ECodeNotFound, Message: "key not found"}
	// ErrConflict is returned by stores when a condition on a write fails.
	ErrConflict = &Error{Code: ECodeConflict, Message: "the resource was changed concurrently"}
	// ErrPrecondition is returned when If-Match does not match the current version.
	ErrPrecondition = &Error{Code: ECodePreconditionFailed, Message: "the key has changed since it was read (If-Match does not match its version)"}
	// ErrNameTaken is returned when another key of the tenant has the same name.
	ErrNameTaken = &Error{Code: ECodeNameTaken, Message: "name: another key of this tenant already has this name"}
	// ErrDefaultImmutable is returned when the default key is edited or revoked.
	ErrDefaultImmutable = &Error{Code: ECodeDefaultImmutable, Message: "the tenant's default key cannot be edited or revoked; rotate it instead"}
	// ErrUnauthorized is returned when credentials are missing or invalid.
	ErrUnauthorized = &Error{Code: ECodeUnauthorized, Message: "missing or invalid credentials"}
	// ErrTenantExists is returned by Bootstrap when the tenant already has a default key.
	ErrTenantExists = &Error{Code: ECodeTenantAlreadyExists, Message: "tenant already has a default key"}
	// ErrUnavailable is returned when a dependency throttles (DynamoDB's
	// ThrottlingException, ProvisionedThroughputExceededException,
	// RequestLimitExceeded) or keeps a write in conflict with another
	// transaction after retries: the caller may retry shortly (503 with
	// Retry-After). Its message never carries the dependency's own text.
	ErrUnavailable = &Error{Code: ECodeUnavailable, Message: "the service is busy; retry shortly"}
)

// InternalMessage is all a caller learns of an internal error.
const InternalMessage = "internal error"
