package apigw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
)

// MaxBodyBytes is the largest request body accepted: 64 KiB.
const MaxBodyBytes = 64 << 10

// CallerFrom returns the authenticated caller. Tenant, key and scopes come
// only from the authorizer context (never from the path, query or body); the
// request ID and source IP come from API Gateway's request context. A missing
// or malformed tenant or key ID is unauthorized.
//
// The authorizer's scopes are a string, space- or comma-separated, or a JSON
// array of strings.
//
// Two headers are read here, in the function, never in the authorizer (whose
// answers the gateway caches per Authorization header, so a tenant taken from
// a request there would be replayed for other tenants):
//   - Keyward-Tenant: <tenantId> makes a key holding tenants:act (a platform
//     key: only the operator tenant's keys hold tenants:*) act inside that
//     tenant with the scopes it holds; without the scope it is a 403.
//   - Keyward-Actor: <person> (≤ 200 characters, no control or format
//     characters) names the person a key holding actors:assert acts for; the
//     write records it as the actor. Without the scope it is a 403.
func CallerFrom(req events.APIGatewayProxyRequest) (apikey.Caller, error) {
	auth := req.RequestContext.Authorizer
	tenant, _ := auth["tenantId"].(string)
	keyID, _ := auth["keyId"].(string)
	if !apikey.ValidTenantID(tenant) || !apikey.ValidKeyID(keyID) {
		return apikey.Caller{}, apikey.ErrUnauthorized
	}
	scopes, ok := parseScopes(auth["scopes"])
	if !ok {
		return apikey.Caller{}, apikey.ErrUnauthorized
	}
	name, _ := auth["keyName"].(string)
	c := apikey.Caller{
		TenantID:    tenant,
		KeyTenantID: tenant,
		KeyID:       keyID,
		KeyName:     name,
		Scopes:      scopes,
		RequestID:   req.RequestContext.RequestID,
		SourceIP:    req.RequestContext.Identity.SourceIP,
	}
	if err := actingTenant(req, &c); err != nil {
		return apikey.Caller{}, err
	}
	if err := assertedActor(req, &c); err != nil {
		return apikey.Caller{}, err
	}
	return c, nil
}

// Headers a key may send to act for a tenant or a person.
const (
	HeaderTenant = "Keyward-Tenant"
	HeaderActor  = "Keyward-Actor"
)

// singleHeader returns the header's one value; a header sent twice is a 400.
func singleHeader(req events.APIGatewayProxyRequest, name string) (string, bool, error) {
	vals := headerValues(req, name)
	switch {
	case len(vals) == 0:
		return "", false, nil
	case len(vals) > 1:
		return "", false, apikey.Invalid(name, "must be sent once")
	}
	return vals[0], true, nil
}

func actingTenant(req events.APIGatewayProxyRequest, c *apikey.Caller) error {
	v, ok, err := singleHeader(req, HeaderTenant)
	if err != nil || !ok {
		return err
	}
	if !apikey.HasScope(c.Scopes, apikey.ScopeTenantsAct) {
		return &apikey.Error{Code: apikey.ECodeForbidden, Field: HeaderTenant,
			Message: HeaderTenant + ": this key lacks the " + apikey.ScopeTenantsAct + " scope"}
	}
	if !apikey.ValidTenantID(v) {
		return apikey.Invalid(HeaderTenant, "must match ^[a-z0-9][a-z0-9-]{1,62}$")
	}
	c.TenantID = v
	return nil
}

func assertedActor(req events.APIGatewayProxyRequest, c *apikey.Caller) error {
	v, ok, err := singleHeader(req, HeaderActor)
	if err != nil || !ok {
		return err
	}
	if !apikey.HasScope(c.Scopes, apikey.ScopeActorsAssert) {
		return &apikey.Error{Code: apikey.ECodeForbidden, Field: HeaderActor,
			Message: HeaderActor + ": this key lacks the " + apikey.ScopeActorsAssert + " scope"}
	}
	actor, err := apikey.ValidateActor(HeaderActor, v)
	if err != nil {
		return err
	}
	c.Actor = actor
	return nil
}

// parseScopes reads the authorizer's scopes value. Absent means none; a value
// that cannot be read fails closed.
func parseScopes(v any) ([]string, bool) {
	var raw []string
	switch s := v.(type) {
	case nil:
		return []string{}, true
	case string:
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "[") {
			if err := json.Unmarshal([]byte(s), &raw); err != nil {
				return nil, false
			}
			break
		}
		raw = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	case []any: // a local gateway may pass the context through unflattened
		for _, e := range s {
			str, ok := e.(string)
			if !ok {
				return nil, false
			}
			raw = append(raw, str)
		}
	default:
		return nil, false
	}
	scopes := make([]string, 0, len(raw))
	for _, sc := range raw {
		if sc = strings.TrimSpace(sc); sc != "" {
			scopes = append(scopes, sc)
		}
	}
	return scopes, true
}

// Header returns the value of the named request header: every value sent
// for it, in every spelling of its name, joined with ", " as HTTP lists are;
// "" when absent. A header sent twice (say If-Match and if-match) is
// therefore a list, never one of its values picked by map order.
func Header(req events.APIGatewayProxyRequest, name string) string {
	return strings.Join(headerValues(req, name), ", ")
}

// hasHeader reports whether the named header is present at all.
func hasHeader(req events.APIGatewayProxyRequest, name string) bool {
	return len(headerValues(req, name)) > 0
}

// headerValues returns every value of the named header in req.
func headerValues(req events.APIGatewayProxyRequest, name string) []string {
	return HeaderValues(req.MultiValueHeaders, req.Headers, name)
}

// HeaderValues returns every value of the named header from an API Gateway
// event's multiValueHeaders and headers, matching names case-insensitively,
// in a fixed order: multiValueHeaders by name, then the values of headers
// that multiValueHeaders does not already list (API Gateway repeats a
// header's last value there). The authorizer and the functions both read
// headers through it, so `Authorization` and `authorization` are one header
// sent twice, never one picked by map order.
func HeaderValues(multi map[string][]string, single map[string]string, name string) []string {
	var vals []string
	for _, k := range matchingNames(multi, name) {
		vals = append(vals, multi[k]...)
	}
	listed := len(vals)
	for _, k := range matchingNames(single, name) {
		if v := single[k]; !slices.Contains(vals[:listed], v) {
			vals = append(vals, v)
		}
	}
	return vals
}

// matchingNames returns the keys of m equal to name but for case, sorted.
func matchingNames[V any](m map[string]V, name string) []string {
	var names []string
	for k := range m {
		if strings.EqualFold(k, name) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// Query returns the named query-string parameter ("" when absent). When a
// parameter is repeated, the last value wins, as in API Gateway's
// queryStringParameters.
func Query(req events.APIGatewayProxyRequest, name string) string {
	if vs := req.MultiValueQueryStringParameters[name]; len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return req.QueryStringParameters[name]
}

// QueryNames returns the names of every query-string parameter present.
func QueryNames(req events.APIGatewayProxyRequest) []string {
	seen := map[string]bool{}
	var names []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			names = append(names, k)
		}
	}
	for k := range req.QueryStringParameters {
		add(k)
	}
	for k := range req.MultiValueQueryStringParameters {
		add(k)
	}
	slices.Sort(names)
	return names
}

// ParseIfMatch reads If-Match as a key version. It accepts "3", 3 and W/"3";
// it returns nil when the header is absent or "*" (any version). Anything else
// (including a list of tags) is invalid_request naming If-Match.
func ParseIfMatch(req events.APIGatewayProxyRequest) (*int64, error) {
	if !hasHeader(req, "If-Match") {
		return nil, nil
	}
	v := strings.TrimSpace(Header(req, "If-Match"))
	if v == "*" {
		return nil, nil
	}
	bad := apikey.Invalid("If-Match", `must be one version as returned in ETag, e.g. "3", or *`)
	v = strings.TrimPrefix(v, "W/")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return nil, bad
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return nil, bad
	}
	return &n, nil
}

// DecodeJSON decodes the request body, which must be present and be one JSON
// object, into v. Unknown fields, wrong types and trailing data are
// invalid_request naming the field where there is one; a body over
// MaxBodyBytes is payload_too_large; a Content-Type other than JSON is
// unsupported_media_type.
func DecodeJSON(req events.APIGatewayProxyRequest, v any) error {
	body, err := readBody(req)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return apikey.Errorf(apikey.ECodeInvalid, "a JSON request body is required")
	}
	return decode(req, body, v)
}

// DecodeOptionalJSON is DecodeJSON for routes whose body may be left out: an
// empty (or all-whitespace) body leaves v as it is.
func DecodeOptionalJSON(req events.APIGatewayProxyRequest, v any) error {
	body, err := readBody(req)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decode(req, body, v)
}

func tooLarge() error {
	return &TransportError{Status: http.StatusRequestEntityTooLarge, Code: CodePayloadTooLarge, Message: fmt.Sprintf("the request body must be at most %d bytes", MaxBodyBytes)}
}

// readBody returns the raw body, base64-decoded when API Gateway encoded it.
func readBody(req events.APIGatewayProxyRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		if len(req.Body) > MaxBodyBytes {
			return nil, tooLarge()
		}
		return []byte(req.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBodyBytes+2 {
		return nil, tooLarge()
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, apikey.Errorf(apikey.ECodeInvalid, "the request body is not valid base64")
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge()
	}
	return b, nil
}

// checkContentType allows an absent Content-Type, application/json and
// application/*+json, with no charset other than UTF-8.
func checkContentType(req events.APIGatewayProxyRequest) error {
	if !hasHeader(req, "Content-Type") {
		return nil
	}
	unsupported := &TransportError{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Message: "the request body must be application/json"}
	mt, params, err := mime.ParseMediaType(Header(req, "Content-Type"))
	if err != nil {
		return unsupported
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return unsupported
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return unsupported
	}
	return nil
}

func decode(req events.APIGatewayProxyRequest, body []byte, v any) error {
	if err := checkContentType(req); err != nil {
		return err
	}
	if trimmed := bytes.TrimSpace(body); trimmed[0] != '{' {
		return apikey.Errorf(apikey.ECodeInvalid, "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apikey.Errorf(apikey.ECodeInvalid, "the request body must hold one JSON object and nothing after it")
	}
	return nil
}

// decodeError turns an encoding/json error into invalid_request, naming the
// field when the error says which.
func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apikey.Errorf(apikey.ECodeInvalid, "the request body is not valid JSON (at byte %d)", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apikey.Errorf(apikey.ECodeInvalid, "the request body is not valid JSON (it ends too early)")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return apikey.Errorf(apikey.ECodeInvalid, "the request body must be a JSON object")
		}
		return apikey.Invalid(typ.Field, "must be %s", describeType(typ.Type))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if field, err := strconv.Unquote(name); err == nil {
			return apikey.Invalid(field, "is not a known field")
		}
	}
	return apikey.Errorf(apikey.ECodeInvalid, "the request body is not valid JSON")
}

// describeType names a Go type the way a JSON client thinks of it.
func describeType(t reflect.Type) string {
	if t == nil {
		return "another JSON type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + plural(t.Elem())
	case reflect.Map:
		return "an object of " + plural(t.Elem())
	case reflect.Struct:
		return "an object"
	}
	return "a JSON value of another type"
}

func plural(t reflect.Type) string {
	switch s := describeType(t); {
	case strings.HasPrefix(s, "a string"):
		return "strings"
	case strings.HasPrefix(s, "an integer"):
		return "integers"
	case strings.HasPrefix(s, "a number"):
		return "numbers"
	case strings.HasPrefix(s, "an object"):
		return "objects"
	default:
		return "values"
	}
}

// KnownQuery refuses (400 naming it) a query parameter not in allowed, so a
// misspelt filter is not silently ignored.
func KnownQuery(req events.APIGatewayProxyRequest, allowed ...string) error {
	for _, name := range QueryNames(req) {
		if !slices.Contains(allowed, name) {
			return apikey.Invalid(name, "is not a known query parameter (%s)", strings.Join(allowed, ", "))
		}
	}
	return nil
}

// QueryLimit reads the limit query parameter: 0 when absent, else an integer
// from 1 to max (400 naming limit otherwise).
func QueryLimit(req events.APIGatewayProxyRequest, max int) (int, error) {
	s := Query(req, "limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, apikey.Invalid("limit", "must be an integer between 1 and %d", max)
	}
	return n, nil
}
