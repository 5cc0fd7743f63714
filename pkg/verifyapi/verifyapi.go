// Package verifyapi serves GET /v1/whoami and POST /v1/verify:
// who the calling key is, and whether a token is valid, for services that
// are not behind API Gateway; and, with no key needed, GET /v1/openapi.json. /v1/verify checks the token with apikey.Verify,
// the code the authorizer uses, against the store directly (no cache), so a
// revocation or an expiry shows at once.
package verifyapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/lastused"
	"github.com/keyward/keyward/pkg/openapi"
)

// API Gateway resource paths of the routes.
const (
	ResourceWhoami = "/v1/whoami"
	ResourceVerify = "/v1/verify"
)

// Store is what /v1/verify needs from the keys table; *dynamostore.Store
// satisfies it.
type Store interface {
	apikey.KeyGetter
	lastused.Toucher
}

// Verifier checks tokens for POST /v1/verify.
type Verifier struct {
	store  Store
	hasher apikey.Hasher
	prefix string
	now    func() time.Time
	usage  *lastused.Recorder
	// keyTypes are the deployment's key types (empty: any well-formed type);
	// apiScopes the protected APIs' scopes (from RouteScopes).
	keyTypes  []string
	apiScopes []string
}

// Option customises a Verifier.
type Option func(*Verifier)

// WithKeyTypes sets the deployment's configured key types, for whoami.
func WithKeyTypes(types []string) Option {
	return func(v *Verifier) { v.keyTypes = slices.Clone(types) }
}

// WithRouteScopes sets the protected APIs' routes (the RouteScopes
// parameter), whose scopes whoami offers to callers who may grant them.
func WithRouteScopes(routes []apikey.RouteScope) Option {
	return func(v *Verifier) {
		for _, r := range routes {
			if !slices.Contains(v.apiScopes, r.Scope) {
				v.apiScopes = append(v.apiScopes, r.Scope)
			}
		}
		slices.Sort(v.apiScopes)
	}
}

// WithClock injects the clock used for expiry, grace periods and lastUsedAt.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// New returns a Verifier over store and hasher for tokens with tokenPrefix
// ("kw" when empty). A successful verification records the key's use (at
// most once a minute), as a call through the authorizer does.
func New(store Store, hasher apikey.Hasher, tokenPrefix string, opts ...Option) *Verifier {
	if tokenPrefix == "" {
		tokenPrefix = "kw"
	}
	v := &Verifier{store: store, hasher: hasher, prefix: tokenPrefix, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	v.usage = lastused.New(store, lastused.DefaultInterval, nil)
	return v
}

// Routes are the verify function's routes: GET /v1/whoami, POST /v1/verify
// and, without authentication, GET /v1/openapi.json (the API's OpenAPI
// document).
func Routes(v *Verifier) []apigw.Route {
	return []apigw.Route{
		{Method: http.MethodGet, Resource: ResourceWhoami, Handler: v.whoami},
		{Method: http.MethodPost, Resource: ResourceVerify, Handler: v.verify},
		{Method: http.MethodGet, Resource: openapi.Path, Handler: document},
	}
}

// document serves the OpenAPI document: public, the same for every caller.
func document(context.Context, events.APIGatewayProxyRequest, apikey.Caller) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Headers: openapi.Headers(), Body: string(openapi.Document())}, nil
}

// Whoami is the response of GET /v1/whoami: the calling key, as the
// authorizer described it (tenantId is the key's own tenant), what the
// request asserted (actingTenantId when a platform key sent Keyward-Tenant,
// actor when a key sent Keyward-Actor), and what a client (the console)
// needs to offer only what the key may do.
type Whoami struct {
	KeyID          string   `json:"keyId"`
	TenantID       string   `json:"tenantId"`
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	Scopes         []string `json:"scopes"`
	ActingTenantID string   `json:"actingTenantId,omitempty"`
	Actor          string   `json:"actor,omitempty"`
	// KeyTypes are the deployment's configured key types; empty means any
	// type matching ^[a-z][a-z0-9_-]{0,31}$ (the first is the default).
	KeyTypes []string `json:"keyTypes"`
	// GrantableScopes are the scopes this key may give a key it creates:
	// keyward's own (admin) and the protected APIs' (from RouteScopes).
	GrantableScopes GrantableScopes `json:"grantableScopes"`
}

// GrantableScopes are the scopes a caller may grant, grouped.
type GrantableScopes struct {
	Admin []string `json:"admin"`
	API   []string `json:"api"`
}

// adminScopes are keyward's own grantable scopes, in the order a person
// reads them (keys:admin is never granted).
var adminScopes = []string{apikey.ScopeRead, apikey.ScopeWrite, apikey.ScopeRevoke, apikey.ScopeVerify, apikey.ScopeAuditRead}

func (v *Verifier) whoami(_ context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
	name, _ := req.RequestContext.Authorizer["keyName"].(string)
	typ, _ := req.RequestContext.Authorizer["keyType"].(string)
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	keyTypes := v.keyTypes
	if keyTypes == nil {
		keyTypes = []string{}
	}
	w := Whoami{KeyID: c.KeyID, TenantID: c.HomeTenant(), Name: name, Type: typ, Scopes: scopes, Actor: c.Actor,
		KeyTypes: keyTypes, GrantableScopes: v.grantable(scopes)}
	if c.Acting() {
		w.ActingTenantID = c.TenantID
	}
	return apigw.JSON(http.StatusOK, w)
}

// grantable lists what a key holding scopes may grant: keyward's scopes and
// the protected APIs' scopes it passes apikey.CanGrant for, plus any other
// scope it holds itself (a holder may always pass on what it holds, wildcards
// and holder-only scopes such as tenants:admin included).
func (v *Verifier) grantable(scopes []string) GrantableScopes {
	g := GrantableScopes{Admin: []string{}, API: []string{}}
	for _, s := range adminScopes {
		if apikey.CanGrant(scopes, s) {
			g.Admin = append(g.Admin, s)
		}
	}
	for _, s := range v.apiScopes {
		if apikey.CanGrant(scopes, s) && !slices.Contains(adminScopes, s) {
			g.API = append(g.API, s)
		}
	}
	for _, s := range scopes {
		if s == apikey.ScopeAdmin || slices.Contains(g.Admin, s) || slices.Contains(g.API, s) {
			continue
		}
		if isAdminNamespace(s) {
			g.Admin = append(g.Admin, s)
		} else {
			g.API = append(g.API, s)
		}
	}
	slices.Sort(g.API)
	return g
}

// isAdminNamespace reports whether a scope belongs to keyward itself.
func isAdminNamespace(s string) bool {
	for _, ns := range []string{"keys:", "audit:", "tenants:", "actors:"} {
		if strings.HasPrefix(s, ns) {
			return true
		}
	}
	return false
}

// VerifyInput is the body of POST /v1/verify. Token is a token
// (kw_…), or an Authorization header value as a client sent it
// ("Bearer kw_…" or "Basic base64(keyId:secret)").
type VerifyInput struct {
	Token string `json:"token"`
}

// VerifyOutput is the response of POST /v1/verify. Valid is true exactly when
// Code is VALID; the key's description is given then. For REVOKED, EXPIRED
// and TENANT_SUSPENDED (the secret was right) only the key ID is given.
type VerifyOutput struct {
	Valid     bool              `json:"valid"`
	Code      apikey.VerifyCode `json:"code"`
	KeyID     string            `json:"keyId,omitempty"`
	TenantID  string            `json:"tenantId,omitempty"`
	Name      string            `json:"name,omitempty"`
	Type      string            `json:"type,omitempty"`
	Scopes    []string          `json:"scopes,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	ExpiresAt *time.Time        `json:"expiresAt,omitempty"`
}

// verify serves POST /v1/verify (keys:verify). A key of another tenant is
// NOT_FOUND whatever its secret, so nothing is learnt about other tenants.
func (v *Verifier) verify(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
	var in VerifyInput
	if err := apigw.DecodeJSON(req, &in); err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	out, err := v.Verify(ctx, c.TenantID, in.Token)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(http.StatusOK, out)
}

// Verify checks token for a caller of tenant. Errors: invalid_request (no
// token), and infrastructure failures; every verdict is a VerifyOutput.
func (v *Verifier) Verify(ctx context.Context, tenant, token string) (*VerifyOutput, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, apikey.Invalid("token", "is required")
	}
	var keyID, secret string
	var err error
	if scheme, _, _ := strings.Cut(token, " "); strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "basic") {
		keyID, secret, err = apikey.ParseAuthorization(v.prefix, token)
	} else {
		keyID, secret, err = apikey.ParseToken(v.prefix, token)
	}
	if err != nil {
		return &VerifyOutput{Code: apikey.CodeMalformed}, nil
	}
	now := v.now()
	k, err := apikey.LookupKey(ctx, v.store, keyID)
	if err != nil {
		return nil, err
	}
	if k != nil && k.TenantID != tenant {
		k = nil // another tenant's key is treated exactly as an unknown one
	}
	code, err := apikey.Verify(ctx, v.hasher, k, secret, now)
	if err != nil {
		return nil, err
	}
	out := &VerifyOutput{Valid: code == apikey.CodeValid, Code: code}
	switch code {
	case apikey.CodeValid:
		pub := k.Public(now)
		out.KeyID, out.TenantID, out.Name, out.Type = pub.ID, pub.TenantID, pub.Name, pub.Type
		out.Scopes, out.Metadata, out.ExpiresAt = pub.Scopes, pub.Metadata, pub.ExpiresAt
		v.usage.Record(ctx, k.ID, now)
	case apikey.CodeRevoked, apikey.CodeExpired, apikey.CodeTenantSuspended:
		out.KeyID = k.ID
	}
	return out, nil
}
