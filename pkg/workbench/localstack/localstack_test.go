package localstack

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

func repoTemplate(t *testing.T) (root string, tmpl *samtemplate.Template) {
	t.Helper()
	p, err := samtemplate.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err = samtemplate.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(p), tmpl
}

// Every function of the template has a package, found the way sam build
// finds it, and it is the folder of the same name.
func TestEveryTemplateFunctionHasAPackage(t *testing.T) {
	root, tmpl := repoTemplate(t)
	fns, err := tmpl.ServerlessFunctions(nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, f := range fns {
		pkg, err := PackageDir(context.Background(), root, f)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if !isMainPackage(filepath.Join(root, pkg)) {
			t.Errorf("%s: %s is not a main package", id, pkg)
		}
	}
}

func TestPackageDirFallsBackToTheConvention(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "functions", "auditstream")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &samtemplate.ServerlessFunction{LogicalID: "AuditStreamFunction", CodeURI: ".", BuildMethod: "makefile"}
	got, err := PackageDir(context.Background(), root, f)
	if err != nil || got != "./functions/auditstream" {
		t.Errorf("PackageDir = %q, %v; want ./functions/auditstream", got, err)
	}
	f.LogicalID = "MissingFunction"
	if _, err := PackageDir(context.Background(), root, f); err == nil {
		t.Error("a function without code was given a package")
	}
}

// The environment functions get resolves every Ref of the template to the
// local stand-ins.
func TestFunctionEnvResolvesTheTemplate(t *testing.T) {
	_, tmpl := repoTemplate(t)
	fns, err := tmpl.ServerlessFunctions(nil)
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{"KeysTable": "KeysTable", "AuditTable": "AuditTable"}
	kmsKeys := map[string]string{"KeywardKey": "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-4333-8444-555555555555"}
	values := refs(tmpl, StackName, map[string]string{"TokenPrefix": "acme"}, tables, map[string]string{"KeysTable": "arn:stream"}, kmsKeys, map[string]string{"KeywardApi": "abcdefghij"})
	for id, f := range fns {
		env, skipped := functionEnv(f, values)
		for k, err := range skipped {
			t.Errorf("%s: %s not resolved: %v", id, k, err)
		}
		if env["KEYS_TABLE"] != "KeysTable" || env["KMS_KEY_ID"] != kmsKeys["KeywardKey"] || env["TOKEN_PREFIX"] != "acme" {
			t.Errorf("%s: env = %v", id, env)
		}
	}
}

func TestAPIIDIsStableAndWellFormed(t *testing.T) {
	a, b := apiID(StackName, "KeywardApi"), apiID(StackName, "KeywardApi")
	if a != b || len(a) != 10 || apiID(StackName, "Other") == a || apiID("recordings", "KeywardApi") == a {
		t.Errorf("apiID = %q, %q", a, b)
	}
}

// TestBadParametersStopTheStart: a value the template's constraints or the
// authorizer refuse stops the stack before anything starts, naming the
// parameter.
func TestBadParametersStopTheStart(t *testing.T) {
	root, _ := repoTemplate(t)
	sample := filepath.Join(root, "scripts", "examples", "recordings", "template.yaml")
	for _, c := range []struct {
		name   string
		params map[string]string
	}{
		{"OtherStacksCacheTtlOutOfRange", map[string]string{"recordings.AuthorizerCacheTtl": "7200"}},
		{"OtherStacksUnknownParameter", map[string]string{"recordings.Nope": "1"}},
		{"UnknownStack", map[string]string{"nostack.AuthorizerCacheTtl": "1"}},
		{"UnquotedRouteScopes", map[string]string{"RouteScopes": "{GET /recordings/*:recordings:read}"}},
		{"RouteScopesOverlappingKeywardsOwnRoute", map[string]string{"RouteScopes": `{"GET /v1/keys": "recordings:read"}`}},
		{"RouteScopesWithABadPath", map[string]string{"RouteScopes": `{"GET /recordings/x*": "recordings:read"}`}},
		{"CacheTtlOutOfRange", map[string]string{"AuthorizerCacheTtl": "7200"}},
		{"UnknownParameter", map[string]string{"RouteScope": "{}"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := ""
			for k := range c.params {
				name = k
			}
			_, err := Start(context.Background(), Options{RepoRoot: root, DataDir: t.TempDir(), Parameters: c.params, APIs: []string{sample}, Output: io.Discard, Terminal: io.Discard})
			if err == nil || !strings.Contains(err.Error(), "parameter "+name) {
				t.Fatalf("err = %v, want one naming parameter %s", err, name)
			}
		})
	}
}

func TestEnsureOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), AdminTokenFile)
	if err := os.WriteFile(path, []byte("token\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if fixed, err := ensureOwnerOnly(path); err != nil || !fixed {
		t.Fatalf("ensureOwnerOnly(0644 file) = %v, %v; want true, nil", fixed, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after ensureOwnerOnly = %v, want 0600", fi.Mode().Perm())
	}
	if fixed, err := ensureOwnerOnly(path); err != nil || fixed {
		t.Errorf("ensureOwnerOnly(0600 file) = %v, %v; want false, nil", fixed, err)
	}
}

func TestWriteSecretFileIs0600EvenOverALooserFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), AdminTokenFile)
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSecretFile(path, "new\n"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestOtherStacksParametersReachTheirTemplate(t *testing.T) {
	root, _ := repoTemplate(t)
	sample := filepath.Join(root, "scripts", "examples", "recordings", "template.yaml")
	b, err := newBoot(Options{RepoRoot: root, DataDir: t.TempDir(), APIs: []string{sample}, Output: io.Discard, Terminal: io.Discard,
		Parameters: map[string]string{"AuthorizerCacheTtl": "0", "recordings.AuthorizerCacheTtl": "7", "recordings.Stage": "beta"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.loadTemplates(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := b.stacks[1]
	if rec.name != "recordings" {
		t.Fatalf("stack name %q, want recordings", rec.name)
	}
	for _, id := range []string{"RecordingsApi", "RecordingsHttpApi"} {
		api := rec.apis[id]
		if api.StageName != "beta" || api.Authorizers["Keyward"].ReauthorizeEvery != 7 {
			t.Errorf("%s: stage %q, TTL %d, want beta and 7", id, api.StageName, api.Authorizers["Keyward"].ReauthorizeEvery)
		}
	}
	if b.stacks[0].params["AuthorizerCacheTtl"] != "0" || len(b.stacks[0].params) != 1 {
		t.Errorf("keyward's parameters = %v, want only its own", b.stacks[0].params)
	}
}
