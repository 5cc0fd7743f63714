package openapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/openapi"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Document())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	return doc
}

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	doc := load(t)
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
}

// TestEveryAdminRouteIsDocumentedWithItsScope keeps the document's
// x-keyward-scope (and which routes need no key) beside apikey's route
// table, which the router and the authorizer enforce.
func TestEveryAdminRouteIsDocumentedWithItsScope(t *testing.T) {
	doc := load(t)
	documented := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			scope, _ := op.Extensions["x-keyward-scope"].(string)
			if op.Security != nil && len(*op.Security) == 0 {
				scope = "public"
			}
			documented[method+" "+path] = scope
		}
	}
	for _, r := range apikey.AdminRoutes() {
		key := r.Method + " " + r.Path
		scope, ok := documented[key]
		if !ok {
			t.Errorf("%s is not in the document", key)
			continue
		}
		if r.Public != (scope == "public") {
			t.Errorf("%s: public in the route table %v, in the document (security: []) %v", key, r.Public, scope == "public")
		} else if !r.Public && scope != r.Scope {
			t.Errorf("%s: x-keyward-scope %q, the route table says %q", key, scope, r.Scope)
		}
		delete(documented, key)
	}
	for key, scope := range documented {
		if scope != "public" { // a public route outside the table (a signed webhook) is held to the template by the e2e drift test
			t.Errorf("%s is in the document but not in the route table", key)
		}
	}
}

// TestEveryErrorCodeIsDocumented: a code the service can answer with is in
// the ErrorCode enum.
func TestEveryErrorCodeIsDocumented(t *testing.T) {
	var raw struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.Document(), &raw); err != nil {
		t.Fatal(err)
	}
	enum := raw.Components.Schemas["ErrorCode"].Enum
	codes := []string{apigw.CodeMethodNotAllowed, apigw.CodeUnsupportedMedia, apigw.CodePayloadTooLarge, apigw.CodeRouteNotFound}
	for _, c := range []apikey.Code{
		apikey.ECodeInvalid, apikey.ECodeUnauthorized, apikey.ECodeForbidden, apikey.ECodeNotFound,
		apikey.ECodeNameTaken, apikey.ECodeDefaultImmutable, apikey.ECodeConflict, apikey.ECodePreconditionFailed,
		apikey.ECodeUnavailable, apikey.ECodeInternal, apikey.ECodeTenantAlreadyExists,
	} {
		codes = append(codes, string(c))
	}
	for _, code := range codes {
		if !slices.Contains(enum, code) {
			t.Errorf("error code %q is not in the ErrorCode enum", code)
		}
	}
}

func TestHeadersAreJSON(t *testing.T) {
	if h := openapi.Headers(); !strings.HasPrefix(h["Content-Type"], "application/json") {
		t.Errorf("Content-Type = %q", h["Content-Type"])
	}
}
