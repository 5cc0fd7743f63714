package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

func TestBootstrapPrintsTheTokenOnceAndRefusesATenantTwice(t *testing.T) {
	tables := ddblocaltest.Tables(t)
	local := keywardtest.StartKMS(t)
	keyARN := local.KeyARN
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddblocaltest.Shared(t).Endpoint)
	t.Setenv("AWS_ENDPOINT_URL_KMS", local.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("KEYS_TABLE", "")
	t.Setenv("KMS_KEY_ID", "")

	tokenFile := filepath.Join(t.TempDir(), "admin-token")
	var out, errOut bytes.Buffer
	args := []string{"-tenant", "acme", "-table", tables["KeysTable"], "-kms-key", keyARN, "-token-file", tokenFile}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("bootstrap: %v (%s)", err, errOut.String())
	}
	saved, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(saved))
	if _, _, err := apikey.ParseToken("kw", token); err != nil {
		t.Fatalf("token file does not hold a token")
	}
	if st, _ := os.Stat(tokenFile); st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, want 0600", st.Mode().Perm())
	}
	if got := strings.Count(out.String(), token); got != 1 {
		t.Errorf("token printed %d times, want once", got)
	}

	out.Reset()
	err = run(context.Background(), []string{"-tenant", "acme", "-table", tables["KeysTable"], "-kms-key", keyARN}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "already has a default key") {
		t.Fatalf("second bootstrap: err = %v, want a refusal", err)
	}
	if out.Len() != 0 {
		t.Errorf("a refused bootstrap printed %q", out.String())
	}
	if err := run(context.Background(), []string{"-tenant", "Not_Valid", "-table", tables["KeysTable"], "-kms-key", keyARN}, &out, &errOut); err == nil {
		t.Fatal("an invalid tenant was accepted")
	}
}

func TestAddPepperVersionKeepsOldKeysWorking(t *testing.T) {
	tables := ddblocaltest.Tables(t)
	local := keywardtest.StartKMS(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": ddblocaltest.Shared(t).Endpoint, "AWS_ENDPOINT_URL_KMS": local.URL,
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"KEYS_TABLE": tables["KeysTable"], "KMS_KEY_ID": local.KeyARN,
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"-add-pepper-version"}, &out, &errOut); err == nil {
		t.Fatal("adding a pepper version before any bootstrap succeeded")
	}
	if err := run(ctx, []string{"-tenant", "acme", "-quiet"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out.String())
	out.Reset()
	if err := run(ctx, []string{"-add-pepper-version"}, &out, &errOut); err != nil {
		t.Fatalf("add pepper version: %v", err)
	}
	if !strings.Contains(out.String(), "Pepper version 2 added") {
		t.Fatalf("output %q", out.String())
	}
	if err := run(ctx, []string{"-tenant", "acme", "-add-pepper-version"}, &out, &errOut); err == nil {
		t.Fatal("-tenant with -add-pepper-version was accepted")
	}

	// A fresh container (as after a deploy) hashes new secrets with v2 and
	// still verifies the key hashed with v1.
	store := dynamostore.New(ddblocal.Client(ddblocaltest.Shared(t).Endpoint), tables["KeysTable"])
	hasher := kmspepper.New(local.Client, store, local.KeyARN)
	id, secret, err := apikey.ParseToken("kw", token)
	if err != nil {
		t.Fatal(err)
	}
	k, err := store.GetKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := apikey.Verify(ctx, hasher, k, secret, time.Now()); err != nil || c != apikey.CodeValid {
		t.Fatalf("v1 key after adding v2: %s, %v", c, err)
	}
	h, err := hasher.Hash(ctx, []byte(secret))
	if err != nil || h.Version != 2 {
		t.Fatalf("new hashes use version %d (%v), want 2", h.Version, err)
	}
}

// -token-file leaves a file only its owner can read, even where a looser
// file was before (os.WriteFile would keep that file's mode).
func TestTokenFileIs0600EvenOverALooserFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeTokenFile(path, "new\n"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != "new\n" {
		t.Errorf("content = %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".admin-token-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestBootstrapWithNoTenantMakesTheOperatorTenantsPlatformKey(t *testing.T) {
	tables := ddblocaltest.Tables(t)
	local := keywardtest.StartKMS(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": ddblocaltest.Shared(t).Endpoint, "AWS_ENDPOINT_URL_KMS": local.URL,
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"KEYS_TABLE": tables["KeysTable"], "KMS_KEY_ID": local.KeyARN, "OPERATOR_TENANT": "",
	} {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-quiet"}, &out, &errOut); err != nil {
		t.Fatalf("bootstrap: %v (%s)", err, errOut.String())
	}
	keyID, _, err := apikey.ParseToken("kw", strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal("no token printed")
	}
	store := dynamostore.New(ddblocal.Client(ddblocaltest.Shared(t).Endpoint), tables["KeysTable"])
	k, err := store.GetKey(context.Background(), keyID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"keys:admin", "tenants:admin", "tenants:act", "actors:assert"}
	if k.TenantID != "operator" || !k.IsDefault || strings.Join(k.Scopes, " ") != strings.Join(want, " ") {
		t.Errorf("platform key = tenant %s default %v scopes %v, want operator's default key with %v", k.TenantID, k.IsDefault, k.Scopes, want)
	}
	if tn, err := store.GetTenant(context.Background(), "operator"); err != nil || !tn.IsOperator || tn.DefaultKeyID != keyID {
		t.Errorf("operator tenant = %+v, %v", tn, err)
	}
	err = run(context.Background(), []string{"-rotate-default"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "-tenant") {
		t.Errorf("-rotate-default without -tenant: %v, want a usage error", err)
	}
}

func TestBootstrapRegistersATenantMadeBeforeTenantsWereKept(t *testing.T) {
	tables := ddblocaltest.Tables(t)
	local := keywardtest.StartKMS(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": ddblocaltest.Shared(t).Endpoint, "AWS_ENDPOINT_URL_KMS": local.URL,
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"KEYS_TABLE": tables["KeysTable"], "KMS_KEY_ID": local.KeyARN,
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	store := dynamostore.New(ddblocal.Client(ddblocaltest.Shared(t).Endpoint), tables["KeysTable"])
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	legacy := &apikey.StoredKey{Key: apikey.Key{
		ID: "key_01JD6B0C3XH5Q2M9T7R4W8N1PC", TenantID: "legacy", Name: "default", Type: "admin",
		Scopes: []string{"keys:admin"}, IsDefault: true, Status: apikey.StatusActive,
		AllowList: apikey.AllowList{IPs: []string{}, Origins: []string{}}, Metadata: map[string]string{},
		CreatedAt: at, CreatedBy: "system:bootstrap", UpdatedAt: at, UpdatedBy: "system:bootstrap", Version: 1,
	}, Change: apikey.Change{Actor: "system:bootstrap"}, NameKey: "default"}
	if err := store.CreateKey(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"-tenant", "legacy"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "registered") {
		t.Fatalf("bootstrap of a tenant with a default key and no tenant item: %v %q", err, out.String())
	}
	tn, err := store.GetTenant(ctx, "legacy")
	if err != nil || tn.DefaultKeyID != legacy.ID || tn.Status != apikey.TenantActive || !tn.CreatedAt.Equal(at) {
		t.Fatalf("registered tenant = %+v, %v", tn, err)
	}
	if k, err := store.GetKey(ctx, legacy.ID); err != nil || k.Version != 1 {
		t.Errorf("the default key was written: %+v, %v", k, err)
	}
	out.Reset()
	if err := run(ctx, []string{"-tenant", "legacy"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "already has a default key") {
		t.Errorf("a second bootstrap: %v, want a refusal", err)
	}
}
