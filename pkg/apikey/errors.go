package apikey

import (
	"errors"
	"fmt"
)

// Code is a domain error code: what went wrong in keyward's own terms.
// Exactly one place (the API Gateway adapter) maps codes to HTTP statuses;
// refusals of the HTTP exchange itself (method, media type, body size) are
// that adapter's own codes, not these.
type Code string

// Domain error codes.
const (
	ECodeInvalid             Code = "invalid_request"
	ECodeUnauthorized        Code = "unauthorized"
	ECodeForbidden           Code = "forbidden"
	ECodeNotFound            Code = "not_found"
	ECodeNameTaken           Code = "name_taken"
	ECodeDefaultImmutable    Code = "default_key_immutable"
	ECodeConflict            Code = "conflict"
	ECodePreconditionFailed  Code = "precondition_failed"
	ECodeUnavailable         Code = "unavailable"
	ECodeInternal            Code = "internal"
	ECodeTenantAlreadyExists Code = "tenant_exists"
)

// Error is the domain error: a code, a public message safe to show a caller,
// and optionally the request field it concerns. Anything that is not an
// *Error is an internal error and is never shown to a caller.
type Error struct {
	Code    Code
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return string(e.Code) + ": " + e.Message
}

// Errorf returns a domain error with a formatted public message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an invalid_request error naming the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: ECodeInvalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it wraps an *Error, else ECodeInternal.
func ErrorCode(err error) Code {
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

// ErrorBody is the one public form of an error, in every response that
// carries one: {"code","message","field"?}.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Public is what a caller may see of e.
func (e *Error) Public() ErrorBody {
	return ErrorBody{Code: string(e.Code), Message: e.Message, Field: e.Field}
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

// ErrCallerChanged and ErrPolicyChanged are a guarded create's answer when
// the calling key or the tenant's policy is no longer what the create was
// judged against. The service then reads them and judges again; they never
// reach a caller (were one to, it would be an internal error).
var (
	ErrCallerChanged = errors.New("the calling key is not as the create assumed")
	ErrPolicyChanged = errors.New("the tenant's policy is not as the create assumed")
)

// InternalMessage is all a caller learns of an internal error.
const InternalMessage = "internal error"
