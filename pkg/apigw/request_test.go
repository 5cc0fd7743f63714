package apigw

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
)

const (
	testTenant = "acme"
	testKey    = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z"
)

func authorized(scopes any) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID:  "req-1",
			Identity:   events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7"},
			Authorizer: map[string]any{"principalId": testKey, "tenantId": testTenant, "keyId": testKey, "scopes": scopes},
		},
	}
}

// wantError checks that err is shown to the caller with the given code,
// field and status.
func wantError[C ~string](t *testing.T, err error, code C, field string, status int) {
	t.Helper()
	got, body, internal := classify(err)
	if internal {
		t.Fatalf("error = %v (%T), want %s", err, err, code)
	}
	if body.Code != string(code) || body.Field != field || got != status {
		t.Fatalf("error = %d %q field %q (%s), want %d %q field %q", got, body.Code, body.Field, body.Message, status, code, field)
	}
}

// isTransport reports whether err is the transport error code.
func isTransport(err error, code string) bool {
	var te *TransportError
	return errors.As(err, &te) && te.Code == code
}

func TestCallerFrom(t *testing.T) {
	t.Run("ReadsTenantKeyScopesRequestIDAndSourceIP", func(t *testing.T) {
		c, err := CallerFrom(authorized("keys:read keys:write"))
		if err != nil {
			t.Fatal(err)
		}
		want := apikey.Caller{TenantID: testTenant, KeyID: testKey, Scopes: []string{"keys:read", "keys:write"}, RequestID: "req-1", SourceIP: "203.0.113.7"}
		if c.TenantID != want.TenantID || c.KeyID != want.KeyID || c.RequestID != want.RequestID || c.SourceIP != want.SourceIP || !slices.Equal(c.Scopes, want.Scopes) {
			t.Fatalf("caller = %+v, want %+v", c, want)
		}
	})

	scopeCases := []struct {
		name  string
		in    any
		want  []string
		valid bool
	}{
		{"SpaceSeparated", "keys:read  keys:write", []string{"keys:read", "keys:write"}, true},
		{"CommaSeparated", "keys:read,keys:write, audit:read", []string{"keys:read", "keys:write", "audit:read"}, true},
		{"JSONArrayString", `["keys:read","keys:revoke"]`, []string{"keys:read", "keys:revoke"}, true},
		{"ArrayValue", []any{"keys:read"}, []string{"keys:read"}, true},
		{"AbsentMeansNone", nil, []string{}, true},
		{"EmptyMeansNone", "", []string{}, true},
		{"BrokenJSONArrayIsRefused", `["keys:read"`, nil, false},
		{"NumberIsRefused", 42.0, nil, false},
		{"ArrayOfNumbersIsRefused", []any{1.0}, nil, false},
	}
	for _, tc := range scopeCases {
		t.Run("Scopes"+tc.name, func(t *testing.T) {
			c, err := CallerFrom(authorized(tc.in))
			if !tc.valid {
				wantError(t, err, apikey.ECodeUnauthorized, "", http.StatusUnauthorized)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Scopes, tc.want) {
				t.Fatalf("scopes = %q, want %q", c.Scopes, tc.want)
			}
		})
	}

	refused := []struct {
		name string
		edit func(*events.APIGatewayProxyRequest)
	}{
		{"NoAuthorizerContext", func(r *events.APIGatewayProxyRequest) { r.RequestContext.Authorizer = nil }},
		{"MissingTenant", func(r *events.APIGatewayProxyRequest) { delete(r.RequestContext.Authorizer, "tenantId") }},
		{"MalformedTenant", func(r *events.APIGatewayProxyRequest) { r.RequestContext.Authorizer["tenantId"] = "ACME!" }},
		{"NonStringTenant", func(r *events.APIGatewayProxyRequest) { r.RequestContext.Authorizer["tenantId"] = 7.0 }},
		{"MissingKey", func(r *events.APIGatewayProxyRequest) { delete(r.RequestContext.Authorizer, "keyId") }},
		{"MalformedKey", func(r *events.APIGatewayProxyRequest) { r.RequestContext.Authorizer["keyId"] = "key_nope" }},
		{"TenantOnlyInPathAndBody", func(r *events.APIGatewayProxyRequest) {
			delete(r.RequestContext.Authorizer, "tenantId")
			r.PathParameters = map[string]string{"tenantId": testTenant}
			r.QueryStringParameters = map[string]string{"tenantId": testTenant}
			r.Body = `{"tenantId":"acme"}`
		}},
	}
	for _, tc := range refused {
		t.Run("Unauthorized"+tc.name, func(t *testing.T) {
			req := authorized("keys:admin")
			tc.edit(&req)
			_, err := CallerFrom(req)
			wantError(t, err, apikey.ECodeUnauthorized, "", http.StatusUnauthorized)
		})
	}
}

type createBody struct {
	Name      string            `json:"name"`
	Scopes    []string          `json:"scopes"`
	Grace     *int              `json:"gracePeriodSeconds"`
	AllowList *apikey.AllowList `json:"allowList"`
	Metadata  map[string]string `json:"metadata"`
}

func TestDecodeJSON(t *testing.T) {
	big := `{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	cases := []struct {
		name        string
		body        string
		base64      bool
		contentType string
		code        string
		field       string
		status      int
	}{
		{name: "ValidObjectDecodes", body: `{"name":"CRM sync","scopes":["keys:read"]}`},
		{name: "Base64BodyDecodes", body: base64.StdEncoding.EncodeToString([]byte(`{"name":"CRM"}`)), base64: true},
		{name: "JSONWithCharsetAccepted", body: `{"name":"x"}`, contentType: "application/json; charset=UTF-8"},
		{name: "VendorJSONAccepted", body: `{"name":"x"}`, contentType: "application/merge-patch+json"},
		{name: "TrailingWhitespaceAccepted", body: "{\"name\":\"x\"}\n\n"},
		{name: "EmptyBodyIsInvalid", body: "", code: string(apikey.ECodeInvalid), status: 400},
		{name: "WhitespaceBodyIsInvalid", body: " \n\t", code: string(apikey.ECodeInvalid), status: 400},
		{name: "SyntaxErrorIsInvalid", body: `{"name":}`, code: string(apikey.ECodeInvalid), status: 400},
		{name: "TruncatedIsInvalid", body: `{"name":"x"`, code: string(apikey.ECodeInvalid), status: 400},
		{name: "NullIsInvalid", body: `null`, code: string(apikey.ECodeInvalid), status: 400},
		{name: "ArrayIsInvalid", body: `[{"name":"x"}]`, code: string(apikey.ECodeInvalid), status: 400},
		{name: "UnknownFieldIsNamed", body: `{"name":"x","tenantId":"globex"}`, code: string(apikey.ECodeInvalid), field: "tenantId", status: 400},
		{name: "NestedUnknownFieldIsNamed", body: `{"allowList":{"ipz":[]}}`, code: string(apikey.ECodeInvalid), field: "ipz", status: 400},
		{name: "WrongTypeIsNamed", body: `{"name":42}`, code: string(apikey.ECodeInvalid), field: "name", status: 400},
		{name: "NestedWrongTypeIsNamed", body: `{"allowList":{"ips":[1]}}`, code: string(apikey.ECodeInvalid), field: "allowList.ips", status: 400},
		{name: "OverflowIsNamed", body: `{"gracePeriodSeconds":1e30}`, code: string(apikey.ECodeInvalid), field: "gracePeriodSeconds", status: 400},
		{name: "MapValueTypeIsNamed", body: `{"metadata":{"a":1}}`, code: string(apikey.ECodeInvalid), field: "metadata", status: 400},
		{name: "TrailingDataIsInvalid", body: `{"name":"x"}{"name":"y"}`, code: string(apikey.ECodeInvalid), status: 400},
		{name: "TrailingGarbageIsInvalid", body: `{"name":"x"} x`, code: string(apikey.ECodeInvalid), status: 400},
		{name: "BadBase64IsInvalid", body: "%%%", base64: true, code: string(apikey.ECodeInvalid), status: 400},
		{name: "OversizeIsTooLarge", body: big, code: CodePayloadTooLarge, status: 413},
		{name: "OversizeBase64IsTooLarge", body: base64.StdEncoding.EncodeToString([]byte(big)), base64: true, code: CodePayloadTooLarge, status: 413},
		{name: "FormContentTypeIsUnsupported", body: `{"name":"x"}`, contentType: "application/x-www-form-urlencoded", code: CodeUnsupportedMedia, status: 415},
		{name: "TextContentTypeIsUnsupported", body: `{"name":"x"}`, contentType: "text/plain", code: CodeUnsupportedMedia, status: 415},
		{name: "Latin1CharsetIsUnsupported", body: `{"name":"x"}`, contentType: "application/json; charset=iso-8859-1", code: CodeUnsupportedMedia, status: 415},
		{name: "MalformedContentTypeIsUnsupported", body: `{"name":"x"}`, contentType: "application/json; ;", code: CodeUnsupportedMedia, status: 415},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := authorized("")
			req.Body, req.IsBase64Encoded = tc.body, tc.base64
			if tc.contentType != "" {
				req.Headers = map[string]string{"content-type": tc.contentType}
			}
			var v createBody
			err := DecodeJSON(req, &v)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				return
			}
			wantError(t, err, tc.code, tc.field, tc.status)
		})
	}
}

func TestDecodeOptionalJSON(t *testing.T) {
	t.Run("EmptyBodyLeavesValue", func(t *testing.T) {
		for _, body := range []string{"", "  \n"} {
			v := createBody{Name: "kept"}
			req := authorized("")
			req.Body = body
			req.Headers = map[string]string{"Content-Type": "text/plain"}
			if err := DecodeOptionalJSON(req, &v); err != nil || v.Name != "kept" {
				t.Fatalf("DecodeOptionalJSON(%q) = %v, name %q", body, err, v.Name)
			}
		}
	})
	t.Run("PresentBodyIsStrict", func(t *testing.T) {
		req := authorized("")
		req.Body = `{"gracePeriod":5}`
		var v createBody
		wantError(t, DecodeOptionalJSON(req, &v), apikey.ECodeInvalid, "gracePeriod", 400)
	})
	t.Run("PresentBodyDecodes", func(t *testing.T) {
		req := authorized("")
		req.Body = `{"gracePeriodSeconds":60}`
		var v createBody
		if err := DecodeOptionalJSON(req, &v); err != nil || v.Grace == nil || *v.Grace != 60 {
			t.Fatalf("err %v, grace %v", err, v.Grace)
		}
	})
}

func TestParseIfMatch(t *testing.T) {
	cases := []struct {
		name    string
		headers map[string]string
		multi   map[string][]string
		want    int64 // 0: nil
		invalid bool
	}{
		{name: "AbsentIsAny"},
		{name: "StarIsAny", headers: map[string]string{"If-Match": "*"}},
		{name: "QuotedVersion", headers: map[string]string{"If-Match": `"3"`}, want: 3},
		{name: "BareVersion", headers: map[string]string{"If-Match": `3`}, want: 3},
		{name: "WeakVersion", headers: map[string]string{"If-Match": `W/"3"`}, want: 3},
		{name: "HeaderNameIsCaseInsensitive", headers: map[string]string{"if-match": `"12"`}, want: 12},
		{name: "MultiValueHeader", multi: map[string][]string{"IF-MATCH": {`"7"`}}, want: 7},
		{name: "SurroundingSpaceIgnored", headers: map[string]string{"If-Match": ` "4" `}, want: 4},
		{name: "EmptyIsInvalid", headers: map[string]string{"If-Match": ""}, invalid: true},
		{name: "WordIsInvalid", headers: map[string]string{"If-Match": `"abc"`}, invalid: true},
		{name: "NegativeIsInvalid", headers: map[string]string{"If-Match": `"-1"`}, invalid: true},
		{name: "ZeroIsInvalid", headers: map[string]string{"If-Match": `"0"`}, invalid: true},
		{name: "ListIsInvalid", headers: map[string]string{"If-Match": `"3", "4"`}, invalid: true},
		{name: "RepeatedHeaderIsInvalid", multi: map[string][]string{"If-Match": {`"3"`, `"4"`}}, invalid: true},
		{name: "UnbalancedQuoteIsInvalid", headers: map[string]string{"If-Match": `"3`}, invalid: true},
		{name: "OverflowIsInvalid", headers: map[string]string{"If-Match": `"99999999999999999999"`}, invalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := authorized("")
			req.Headers, req.MultiValueHeaders = tc.headers, tc.multi
			got, err := ParseIfMatch(req)
			if tc.invalid {
				wantError(t, err, apikey.ECodeInvalid, "If-Match", 400)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == 0 && got != nil:
				t.Fatalf("got %d, want nil (any version)", *got)
			case tc.want != 0 && (got == nil || *got != tc.want):
				t.Fatalf("got %v, want %d", got, tc.want)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	req := events.APIGatewayProxyRequest{
		QueryStringParameters:           map[string]string{"limit": "5", "q": "crm"},
		MultiValueQueryStringParameters: map[string][]string{"limit": {"2", "5"}, "q": {"crm"}, "status": {"active"}},
	}
	if got := Query(req, "limit"); got != "5" {
		t.Errorf("limit = %q, want last value 5", got)
	}
	if got := Query(req, "status"); got != "active" {
		t.Errorf("status = %q", got)
	}
	if got := Query(req, "cursor"); got != "" {
		t.Errorf("cursor = %q, want empty", got)
	}
	if got, want := QueryNames(req), []string{"limit", "q", "status"}; !slices.Equal(got, want) {
		t.Errorf("names = %q, want %q", got, want)
	}
}

func TestStatusTable(t *testing.T) {
	cases := map[apikey.Code]int{
		apikey.ECodeInvalid:             400,
		apikey.ECodeUnauthorized:        401,
		apikey.ECodeForbidden:           403,
		apikey.ECodeNotFound:            404,
		apikey.ECodeNameTaken:           409,
		apikey.ECodeDefaultImmutable:    409,
		apikey.ECodeConflict:            409,
		apikey.ECodeTenantAlreadyExists: 409,
		apikey.ECodePreconditionFailed:  412,
		apikey.ECodeInternal:            500,
		apikey.ECodeUnavailable:         503,
		"some_new_code":                 500,
	}
	for code, want := range cases {
		t.Run(string(code), func(t *testing.T) {
			if got := statusFor(code); got != want {
				t.Fatalf("statusFor(%q) = %d, want %d", code, got, want)
			}
		})
	}
}

type wireError struct {
	Error map[string]string `json:"error"`
}

func wireErrorOf(t *testing.T, resp events.APIGatewayProxyResponse) map[string]string {
	t.Helper()
	var w wireError
	if err := json.Unmarshal([]byte(resp.Body), &w); err != nil {
		t.Fatalf("error body %q: %v", resp.Body, err)
	}
	return w.Error
}

func TestErrorResponse(t *testing.T) {
	t.Run("DomainErrorShowsCodeMessageAndField", func(t *testing.T) {
		resp := responseFor(apikey.Invalid("name", "is required"))
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		e := wireErrorOf(t, resp)
		if e["code"] != "invalid_request" || e["field"] != "name" || e["message"] != "name: is required" {
			t.Fatalf("body %q", resp.Body)
		}
		if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
			t.Fatalf("headers %v", resp.Headers)
		}
	})
	t.Run("FieldOmittedWhenUnset", func(t *testing.T) {
		resp := responseFor(apikey.ErrNotFound)
		if strings.Contains(resp.Body, "field") || resp.StatusCode != 404 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	})
	t.Run("WrappedDomainErrorKeepsItsCode", func(t *testing.T) {
		resp := responseFor(fmt.Errorf("load key: %w", apikey.ErrPrecondition))
		if resp.StatusCode != 412 || wireErrorOf(t, resp)["code"] != "precondition_failed" {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	})
	t.Run("UnavailableSaysRetryAfter", func(t *testing.T) {
		resp := responseFor(apikey.Errorf(apikey.ECodeUnavailable, "try again"))
		if resp.StatusCode != 503 || resp.Headers["Retry-After"] != "1" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
		}
	})
	hidden := []struct {
		name string
		err  error
	}{
		{"PlainError", fmt.Errorf("get key: %w", errors.New("ProvisionedThroughputExceededException: arn:aws:dynamodb:eu-west-1:123456789012:table/keys"))},
		{"InternalDomainError", apikey.Errorf(apikey.ECodeInternal, "kms said no to arn:aws:kms:eu-west-1:123456789012:key/x")},
		{"UnknownDomainCode", apikey.Errorf("teapot", "short and stout")},
	}
	for _, tc := range hidden {
		t.Run("HidesDetailOf"+tc.name, func(t *testing.T) {
			resp := responseFor(tc.err)
			if resp.StatusCode != 500 || resp.Body != `{"error":{"code":"internal","message":"internal error"}}` {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
		})
	}
}

func TestJSONVersioned(t *testing.T) {
	resp, err := JSONVersioned(201, map[string]string{"id": "x"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || resp.Headers["ETag"] != `"3"` || resp.Headers["Cache-Control"] != "no-store" ||
		resp.Headers["Content-Type"] != "application/json" || resp.Body != `{"id":"x"}` {
		t.Fatalf("%+v", resp)
	}
}

func TestKnownQueryAndQueryLimit(t *testing.T) {
	req := func(q map[string]string) events.APIGatewayProxyRequest {
		return events.APIGatewayProxyRequest{QueryStringParameters: q}
	}
	if err := KnownQuery(req(map[string]string{"limit": "5", "q": "x"}), "limit", "q"); err != nil {
		t.Errorf("known parameters refused: %v", err)
	}
	err := KnownQuery(req(map[string]string{"stauts": "active"}), "limit", "status")
	if e, ok := apikey.AsError(err); !ok || e.Field != "stauts" {
		t.Errorf("unknown parameter: err = %v, want invalid naming stauts", err)
	}
	for v, want := range map[string]int{"": 0, "1": 1, "100": 100} {
		if n, err := QueryLimit(req(map[string]string{"limit": v}), 100); err != nil || n != want {
			t.Errorf("limit %q = %d, %v; want %d", v, n, err, want)
		}
	}
	for _, v := range []string{"0", "101", "-1", "ten", "5.5"} {
		if _, err := QueryLimit(req(map[string]string{"limit": v}), 100); apikey.ErrorCode(err) != apikey.ECodeInvalid {
			t.Errorf("limit %q: err = %v, want invalid_request", v, err)
		}
	}
}

// responseFor is the response the router writes for err.
func responseFor(err error) events.APIGatewayProxyResponse {
	status, body, _ := classify(err)
	return errorResponse(status, body)
}
