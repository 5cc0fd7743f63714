package templatecheck

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// TestSampleProtectedAPITemplate checks the sample consumer stack the README
// shows (scripts/examples/recordings) as keyward's own template is checked:
// against the SAM and CloudFormation schemas, every reference resolving,
// and the identity sources that keep keyward's answers per key, address
// and route, the authorizer imported from keyward's exports and the
// HTTP API's Lambda permission.
func TestSampleProtectedAPITemplate(t *testing.T) {
	t.Parallel()
	paths := mustPaths(t)
	tmpl, err := samtemplate.Load(filepath.Join(filepath.Dir(paths.Template), "scripts", "examples", "recordings", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range mustValidator(t).ValidateTemplate(tmpl) {
		t.Error(err)
	}
	broken, unused := References(tmpl)
	for _, err := range broken {
		t.Error(err)
	}
	for _, p := range unused {
		t.Errorf("parameter %s is declared but nothing uses it", p)
	}
	apis, err := tmpl.ServerlessAPIs(nil)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := apis["RecordingsApi"].Authorizers["Keyward"]
	if !ok || a.Import != "keyward-AuthorizerFunctionArn" || a.PayloadType != "REQUEST" {
		t.Errorf("RecordingsApi's authorizer = %+v, want a REQUEST authorizer importing keyward-AuthorizerFunctionArn", a)
	}
	if !slices.Equal(a.Headers, []string{"Authorization"}) || !slices.Equal(a.Context, []string{"identity.sourceIp", "httpMethod", "resourcePath"}) {
		t.Errorf("REST identity sources = %v %v, want Authorization, identity.sourceIp, httpMethod, resourcePath", a.Headers, a.Context)
	}
	http := tmpl.Resources()["RecordingsHttpApi"]
	auth, _ := http.Properties["Auth"].(map[string]any)
	as, _ := auth["Authorizers"].(map[string]any)
	k, _ := as["Keyward"].(map[string]any)
	ident, _ := k["Identity"].(map[string]any)
	ctx, _ := ident["Context"].([]any)
	if !slices.Contains(ctx, any("routeKey")) || !slices.Contains(ctx, any("identity.sourceIp")) || k["EnableSimpleResponses"] != true || k["AuthorizerPayloadFormatVersion"] != "2.0" {
		t.Errorf("HTTP API authorizer = %v, want payload 2.0, simple responses, routeKey and identity.sourceIp among the identity sources", k)
	}
	if k["EnableFunctionDefaultPermissions"] != true {
		t.Errorf("HTTP API authorizer = %v, want EnableFunctionDefaultPermissions (SAM adds the REST API's permission itself)", k)
	}
}
