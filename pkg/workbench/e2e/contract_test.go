package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/keyward/keyward/pkg/openapi"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// contract checks HTTP traffic against the OpenAPI document (kin-openapi's
// openapi3filter, which validates OpenAPI 3.1 documents with JSON Schema
// 2020-12). Every request the end-to-end tests send and every response they
// receive pass through it:
//   - a request the document accepts gets a response the document describes
//     (status, headers and body);
//   - a request the document refuses (a test of bad input) must be refused
//     by the service too (a 4xx), and that refusal must still be a
//     documented response;
//   - a route the document does not have must answer 404 with the error shape.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	errSch *openapi3.Schema
}

var (
	contractOnce sync.Once
	contractDoc  *contract
	contractErr  error
)

// contractHost stands for whichever stack an exchange went to: requests are
// matched to the document's routes by path, whatever their host.
const contractHost = "keyward.test"

// theContract loads the document (once per binary). baseURL is ignored: any
// stack's traffic is checked.
func theContract(t *testing.T, _ string) *contract {
	t.Helper()
	contractOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(openapi.Document())
		if err != nil {
			contractErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contractErr = err
			return
		}
		doc.Servers = openapi3.Servers{{URL: "http://" + contractHost}}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			contractErr = err
			return
		}
		contractDoc = &contract{doc: doc, router: r, errSch: doc.Components.Schemas["Error"].Value}
	})
	if contractErr != nil {
		t.Fatalf("the OpenAPI document: %v", contractErr)
	}
	return contractDoc
}

// transport returns an http.RoundTripper that checks every exchange against
// the document and reports a breach as an error of t.
func (c *contract) transport(t *testing.T) http.RoundTripper {
	return &checkedTransport{c: c, t: t, next: http.DefaultTransport}
}

type checkedTransport struct {
	c    *contract
	t    *testing.T
	next http.RoundTripper
}

func (ct *checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := ct.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if problem := ct.c.check(req, reqBody, resp, respBody); problem != "" {
		ct.t.Errorf("contract: %s %s → %d: %s", req.Method, req.URL.Path, resp.StatusCode, redact(problem, reqBody, respBody))
	}
	return resp, nil
}

// check returns "" when the exchange keeps the contract, else what broke it.
func (c *contract) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) string {
	ctx := context.Background()
	route, params, err := c.router.FindRoute(cloneRequest(req, reqBody))
	if err != nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			return "the route is not in the document, yet it was answered (" + err.Error() + ")"
		}
		return c.isErrorBody(respBody)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: cloneRequest(req, reqBody), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: authorizationScheme, MultiError: true},
	}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
		return fmt.Sprintf("the document refuses the request (%v), the service answered %d", reqErr, resp.StatusCode)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body:    io.NopCloser(bytes.NewReader(respBody)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return "the response is not as documented: " + err.Error()
	}
	return ""
}

// isErrorBody checks a body against the Error schema.
func (c *contract) isErrorBody(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "the error body is not JSON"
	}
	if err := c.errSch.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return "the error body is not the Error schema: " + err.Error()
	}
	return ""
}

// authorizationScheme stands in for the gateway's authentication in request
// validation: the request must carry an Authorization header of the scheme
// (Bearer or Basic) the security requirement names.
func authorizationScheme(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	scheme, _, _ := strings.Cut(h, " ")
	if in.SecurityScheme == nil || !strings.EqualFold(scheme, in.SecurityScheme.Scheme) {
		return errors.New("no Authorization of this scheme")
	}
	return nil
}

// cloneRequest copies req for validation, addressed to contractHost.
func cloneRequest(req *http.Request, body []byte) *http.Request {
	r := req.Clone(context.Background())
	r.URL.Scheme, r.URL.Host, r.Host = "http", contractHost, contractHost
	r.Body = io.NopCloser(bytes.NewReader(body))
	return r
}

var tokenLike = regexp.MustCompile(`[a-z][a-z0-9]*_[0-9A-HJKMNP-TV-Z]{26}_[0-9A-Za-z]{49}`)

// redact keeps secrets out of a reported problem: validation errors may quote
// values, and the bodies may hold a token, a secret or a Basic credential.
func redact(s string, bodies ...[]byte) string {
	s = tokenLike.ReplaceAllString(s, "<token>")
	for _, b := range bodies {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		for _, k := range []string{"secret", "token"} {
			if v, _ := m[k].(string); len(v) >= 8 {
				s = strings.ReplaceAll(s, v, "<"+k+">")
			}
		}
	}
	return s
}

// templateRoutes are the routes of keyward's API in template.yaml, with
// whether each is public (Auth: {Authorizer: NONE}).
func templateRoutes(t *testing.T) map[string]bool {
	t.Helper()
	path, err := samtemplate.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.ServerlessFunctions(nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range fns {
		for _, ev := range f.APIEvents {
			if ev.API == "KeywardApi" {
				out[strings.ToUpper(ev.Method)+" "+ev.Path] = ev.Authorizer == "NONE"
			}
		}
	}
	return out
}

// TestDocumentAndTemplateHaveTheSameRoutes: every route of the template is
// in the OpenAPI document and every route of the document is in the
// template; exactly the template's public routes need no credentials.
func TestDocumentAndTemplateHaveTheSameRoutes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Document())
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			public := op.Security != nil && len(*op.Security) == 0
			documented[method+" "+path] = public
		}
	}
	inTemplate := templateRoutes(t)
	for _, key := range sortedKeys(inTemplate) {
		public, ok := documented[key]
		switch {
		case !ok:
			t.Errorf("%s is a route of template.yaml but not in the OpenAPI document (pkg/openapi/openapi.json)", key)
		case public != inTemplate[key]:
			t.Errorf("%s: public in the document %v, in the template %v", key, public, inTemplate[key])
		}
	}
	for _, key := range sortedKeys(documented) {
		if _, ok := inTemplate[key]; !ok {
			t.Errorf("%s is in the OpenAPI document but not a route of template.yaml", key)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestTheDocumentIsServedWithoutAKey: GET /v1/openapi.json answers the
// embedded document to a caller with no credentials.
func TestTheDocumentIsServedWithoutAKey(t *testing.T) {
	st := startStack(t)
	a := &api{t: t, base: st.APIURL}
	r := a.expect(200, "GET", openapi.Path, "", nil)
	if !bytes.Equal(r.body, openapi.Document()) {
		t.Errorf("GET %s does not answer the embedded document", openapi.Path)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	if !slices.Contains([]int{401}, a.do("GET", "/v1/whoami", "", nil).status) {
		t.Errorf("whoami without a key is not 401")
	}
}

// TestTheContractCatchesBreaches: the checker itself refuses exchanges the
// document does not describe (so a passing end-to-end run means something).
func TestTheContractCatchesBreaches(t *testing.T) {
	c := theContract(t, "")
	base := "http://127.0.0.1:3000"
	mk := func(method, path, auth, body string) (*http.Request, []byte) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, []byte(body)
	}
	resp := func(status int, body string, headers ...string) (*http.Response, []byte) {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i+1 < len(headers); i += 2 {
			h.Set(headers[i], headers[i+1])
		}
		return &http.Response{StatusCode: status, Header: h}, []byte(body)
	}
	whoami := `{"keyId":"key_01ARZ3NDEKTSV4RRFFQ69G5FAV","tenantId":"acme","name":"n","type":"","scopes":["keys:read"],"keyTypes":[],"grantableScopes":{"admin":[],"api":[]}}`
	for _, tc := range []struct {
		name          string
		method, path  string
		auth, reqBody string
		status        int
		respBody      string
		respHeaders   []string
		wantBreach    bool
	}{
		{name: "Documented", method: "GET", path: "/v1/whoami", auth: "Bearer x", status: 200, respBody: whoami},
		{name: "MissingField", method: "GET", path: "/v1/whoami", auth: "Bearer x", status: 200, respBody: `{"keyId":"key_01ARZ3NDEKTSV4RRFFQ69G5FAV"}`, wantBreach: true},
		{name: "UndocumentedStatus", method: "GET", path: "/v1/whoami", auth: "Bearer x", status: 418, respBody: `{"error":{"code":"internal","message":"x"}}`, wantBreach: true},
		{name: "UnknownErrorCode", method: "GET", path: "/v1/whoami", auth: "Bearer x", status: 401, respBody: `{"error":{"code":"nope","message":"x"}}`, wantBreach: true},
		{name: "503WithoutRetryAfter", method: "GET", path: "/v1/whoami", auth: "Bearer x", status: 503, respBody: `{"error":{"code":"unavailable","message":"x"}}`, wantBreach: true},
		{name: "503WithRetryAfter", method: "GET", path: "/v1/whoami", auth: "Bearer x", status: 503, respBody: `{"error":{"code":"unavailable","message":"x"}}`, respHeaders: []string{"Retry-After", "1"}},
		{name: "BadRequestAccepted", method: "POST", path: "/v1/keys", auth: "Bearer x", reqBody: `{"name":"x","scopes":[],"bogus":1}`, status: 201, respBody: `{}`, wantBreach: true},
		{name: "BadRequestRefused", method: "POST", path: "/v1/keys", auth: "Bearer x", reqBody: `{"name":"x","scopes":[],"bogus":1}`, status: 400, respBody: `{"error":{"code":"invalid_request","message":"x","field":"bogus"}}`},
		{name: "NoCredentialsAccepted", method: "GET", path: "/v1/whoami", status: 200, respBody: whoami, wantBreach: true},
		{name: "UnknownRouteAnswered", method: "GET", path: "/v1/nope", auth: "Bearer x", status: 200, respBody: `{}`, wantBreach: true},
		{name: "UnknownRoute404", method: "GET", path: "/v1/nope", auth: "Bearer x", status: 404, respBody: `{"error":{"code":"not_found","message":"no such route"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, reqBody := mk(tc.method, tc.path, tc.auth, tc.reqBody)
			r, body := resp(tc.status, tc.respBody, tc.respHeaders...)
			problem := c.check(req, reqBody, r, body)
			if (problem != "") != tc.wantBreach {
				t.Errorf("check = %q, want a breach: %v", problem, tc.wantBreach)
			}
		})
	}
}
