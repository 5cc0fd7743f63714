package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/cli"
	"github.com/keyward/keyward/pkg/client"
)

// cliRun is one run of the keyward CLI, in process, against the stack.
type cliRun struct {
	code           int
	stdout, stderr string
}

type cliEnv struct {
	t    *testing.T
	env  map[string]string
	http *http.Client
}

// run runs the CLI with args; stdin feeds it and tty says whether its
// stdout is a terminal.
func (e *cliEnv) run(stdin string, tty bool, args ...string) cliRun {
	e.t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := cli.Run(ctx, args, cli.IO{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, StdoutTTY: tty,
		Getenv: func(k string) string { return e.env[k] }, HTTPClient: e.http,
	})
	return cliRun{code: code, stdout: out.String(), stderr: errOut.String()}
}

// mustRun runs the CLI and fails unless it exits with want.
func (e *cliEnv) mustRun(want int, stdin string, args ...string) cliRun {
	e.t.Helper()
	r := e.run(stdin, false, args...)
	if r.code != want {
		e.t.Fatalf("keyward %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), r.code, want, redact(r.stderr))
	}
	return r
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not the JSON expected: %v", err)
	}
	return v
}

// TestCLI drives the keyward CLI through the README's walkthrough against
// the local stack; its traffic is checked against the OpenAPI document.
func TestCLI(t *testing.T) {
	st := startStack(t)
	root := bootstrapTenant(t, st, "cli")
	config := filepath.Join(t.TempDir(), "keyward", "config.json")
	hc := &http.Client{Timeout: 40 * time.Second, Transport: theContract(t, st.APIURL).transport(t)}
	e := &cliEnv{t: t, env: map[string]string{"KEYWARD_CONFIG": config}, http: hc}

	t.Run("LoginSavesAProfileOnlyItsOwnerCanRead", func(t *testing.T) {
		e.mustRun(cli.ExitOK, root+"\n", "login", "--url", st.APIURL)
		fi, err := os.Stat(config)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("config: %v, mode %v; want 0600", err, fi.Mode().Perm())
		}
		w := decode[client.Whoami](t, e.mustRun(cli.ExitOK, "", "whoami", "-o", "json").stdout)
		if w.TenantID != "cli" {
			t.Errorf("whoami tenant %q, want cli", w.TenantID)
		}
		if r := e.run("nope\n", false, "login", "--url", st.APIURL, "--profile", "bad"); r.code != cli.ExitRefused {
			t.Errorf("login with a bad token: exit %d, want %d", r.code, cli.ExitRefused)
		}
	})

	var crm client.IssuedKey
	t.Run("CreateShowsTheTokenOnceAndNotOnATerminalUnlessAsked", func(t *testing.T) {
		args := []string{"keys", "create", "--name", "CRM sync", "--scope", "keys:read,keys:verify", "--meta", "owner=ops"}
		if r := e.run("", true, args...); r.code != cli.ExitUsage || strings.Contains(r.stdout, "kw_") {
			t.Fatalf("create on a terminal without --show-secret: exit %d; want %d and no token", r.code, cli.ExitUsage)
		}
		if keys := decode[[]client.Key](t, e.mustRun(cli.ExitOK, "", "keys", "list", "-q", "crm", "-o", "json").stdout); len(keys) != 0 {
			t.Fatalf("the refused create made a key")
		}
		r := e.mustRun(cli.ExitOK, "", append(args, "-o", "json")...)
		crm = decode[client.IssuedKey](t, r.stdout)
		if crm.Token == "" || !tokenRE.MatchString(crm.Token) {
			t.Fatalf("no token in create's JSON")
		}
		if !strings.Contains(r.stderr, "only time") || strings.Contains(r.stderr, crm.Token) {
			t.Errorf("stderr holds no one-line warning, or holds the token")
		}
		tty := e.run("", true, "keys", "create", "--name", "shown", "--scope", "keys:read", "--show-secret")
		if tty.code != 0 || !strings.Contains(tty.stdout, "Token:") {
			t.Errorf("--show-secret on a terminal: exit %d", tty.code)
		}
		if r := e.run("", false, "keys", "create", "--name", "CRM SYNC", "--scope", "keys:read"); r.code != cli.ExitRefused || !strings.Contains(r.stderr, "name_taken") {
			t.Errorf("duplicate name: exit %d, want %d with name_taken", r.code, cli.ExitRefused)
		}
		if r := e.run("", false, "keys", "create", "--scope", "keys:read"); r.code != cli.ExitUsage {
			t.Errorf("no --name: exit %d, want %d", r.code, cli.ExitUsage)
		}
	})
	if crm.ID == "" {
		t.FailNow()
	}

	t.Run("ListGetEditAsTablesAndJSON", func(t *testing.T) {
		if out := e.mustRun(cli.ExitOK, "", "keys", "list").stdout; !strings.Contains(out, crm.ID) || !strings.Contains(out, "CRM sync") {
			t.Errorf("keys list table lacks the key:\n%s", out)
		}
		k := decode[client.Key](t, e.mustRun(cli.ExitOK, "", "keys", "get", crm.ID, "-o", "json").stdout)
		if k.ID != crm.ID || k.Metadata["owner"] != "ops" {
			t.Errorf("keys get = %+v", k)
		}
		e.mustRun(cli.ExitOK, "", "keys", "edit", crm.ID, "--description", "nightly", "--if-match", "1")
		if r := e.run("", false, "keys", "edit", crm.ID, "--description", "stale", "--if-match", "1"); r.code != cli.ExitRefused || !strings.Contains(r.stderr, "precondition_failed") {
			t.Errorf("stale --if-match: exit %d, want %d", r.code, cli.ExitRefused)
		}
		if r := e.run("", false, "keys", "get", "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"); r.code != cli.ExitRefused || !strings.Contains(r.stderr, "not_found") {
			t.Errorf("unknown key: exit %d, want %d", r.code, cli.ExitRefused)
		}
	})

	t.Run("RotateToAFileThenVerify", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "crm.token")
		e.run("", true, "keys", "rotate", crm.ID, "--secret-file", file)
		fi, err := os.Stat(file)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("token file: %v; want mode 0600", err)
		}
		raw, _ := os.ReadFile(file)
		rotated := strings.TrimSpace(string(raw))
		v := decode[client.Verification](t, e.mustRun(cli.ExitOK, rotated+"\n", "verify", "-o", "json").stdout)
		if !v.Valid || v.KeyID != crm.ID {
			t.Errorf("verify the rotated token = %+v", v)
		}
		if r := e.run(crm.Token+"\n", false, "verify"); r.code != cli.ExitNotValid {
			t.Errorf("verify the rotated-away token: exit %d, want %d", r.code, cli.ExitNotValid)
		}
		// The environment overrides the profile: the CRM key may read but not revoke.
		e.env["KEYWARD_TOKEN"] = rotated
		if r := e.run("", false, "keys", "revoke", crm.ID); r.code != cli.ExitRefused || !strings.Contains(r.stderr, "forbidden") {
			t.Errorf("revoke with a keys:read key: exit %d, want %d forbidden", r.code, cli.ExitRefused)
		}
		delete(e.env, "KEYWARD_TOKEN")
		e.mustRun(cli.ExitOK, "", "keys", "revoke", crm.ID)
		if r := e.run(rotated+"\n", false, "verify", "-o", "json"); r.code != cli.ExitNotValid || decode[client.Verification](t, r.stdout).Code != "REVOKED" {
			t.Errorf("verify a revoked key: exit %d %s", r.code, r.stdout)
		}
	})

	t.Run("BatchRevokeReportsEachKey", func(t *testing.T) {
		var ids []string
		for _, name := range []string{"batch a", "batch b"} {
			k := decode[client.IssuedKey](t, e.mustRun(cli.ExitOK, "", "keys", "create", "--name", name, "--scope", "keys:read", "-o", "json").stdout)
			ids = append(ids, k.ID)
		}
		res := decode[[]client.BatchResult](t, e.mustRun(cli.ExitOK, strings.Join(ids, "\n")+"\n", "keys", "batch-revoke", "-", "-o", "json").stdout)
		if len(res) != 2 || res[0].Status != "revoked" || res[1].Status != "revoked" {
			t.Errorf("batch-revoke = %+v", res)
		}
		if r := e.run("", false, "keys", "batch-revoke", "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"); r.code != cli.ExitRefused {
			t.Errorf("batch-revoke of an unknown key: exit %d, want %d", r.code, cli.ExitRefused)
		}
	})

	t.Run("AuditShowsTheKeysStory", func(t *testing.T) {
		var recs []client.AuditRecord
		eventually(t, 15*time.Second, "four audit records of the key", func() bool {
			recs = decode[[]client.AuditRecord](t, e.mustRun(cli.ExitOK, "", "audit", "--key", crm.ID, "-o", "json").stdout)
			return len(recs) >= 4
		})
		var actions []string
		for _, r := range recs {
			actions = append(actions, r.Action)
		}
		if got := strings.Join(actions, " "); got != "key.revoked key.rotated key.updated key.created" {
			t.Errorf("actions = %s", got)
		}
		if out := e.mustRun(cli.ExitOK, "", "audit", "--key", crm.ID, "--from", "1h").stdout; !strings.Contains(out, "key.rotated") {
			t.Errorf("audit table:\n%s", out)
		}
	})

	t.Run("UsageAndFailuresHaveTheirOwnExitCodes", func(t *testing.T) {
		if r := e.run("", false, "keys", "list", "--bogus"); r.code != cli.ExitUsage {
			t.Errorf("unknown flag: exit %d", r.code)
		}
		if r := e.run("", false, "whoami", "-o", "yaml"); r.code != cli.ExitUsage {
			t.Errorf("bad --output: exit %d", r.code)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + ln.Addr().String()
		ln.Close()
		e.env["KEYWARD_URL"] = closed
		defer delete(e.env, "KEYWARD_URL")
		if r := e.run("", false, "whoami"); r.code != cli.ExitFailure {
			t.Errorf("no API listening: exit %d, want %d", r.code, cli.ExitFailure)
		}
	})

	t.Run("TenantsWithAPlatformKey", func(t *testing.T) {
		raw, err := os.ReadFile(st.PlatformTokenFile)
		if err != nil {
			t.Fatal(err)
		}
		e.env["KEYWARD_TOKEN"] = strings.TrimSpace(string(raw))
		defer delete(e.env, "KEYWARD_TOKEN")
		r := e.mustRun(cli.ExitOK, "", "tenants", "create", "cli-acme", "--name", "Acme via CLI", "-o", "json")
		created := decode[client.CreatedTenant](t, r.stdout)
		if created.ID != "cli-acme" || created.DefaultKey == nil || !tokenRE.MatchString(created.DefaultKey.Token) || !strings.Contains(r.stderr, "only time") {
			t.Fatalf("tenants create: %+v", created.Tenant)
		}
		if out := e.mustRun(cli.ExitOK, "", "tenants", "list").stdout; !strings.Contains(out, "cli-acme") {
			t.Errorf("tenants list lacks cli-acme:\n%s", out)
		}
		if r := e.run("", false, "tenants", "create", "cli-acme", "--name", "again", "-o", "json"); r.code != cli.ExitRefused || !strings.Contains(r.stderr, "tenant_exists") {
			t.Errorf("second create: exit %d, want %d tenant_exists", r.code, cli.ExitRefused)
		}
		w := decode[client.Whoami](t, e.mustRun(cli.ExitOK, "", "whoami", "--tenant", "cli-acme", "-o", "json").stdout)
		if w.ActingTenantID != "cli-acme" {
			t.Errorf("whoami --tenant: acting in %q", w.ActingTenantID)
		}
		if got := decode[client.Tenant](t, e.mustRun(cli.ExitOK, "", "tenants", "suspend", "cli-acme", "-o", "json").stdout); got.Status != "suspended" {
			t.Errorf("suspend: %+v", got)
		}
		if got := decode[client.Tenant](t, e.mustRun(cli.ExitOK, "", "tenants", "resume", "cli-acme", "-o", "json").stdout); got.Status != "active" {
			t.Errorf("resume: %+v", got)
		}
		if r := e.run("", false, "tenants", "get", "nope-tenant"); r.code != cli.ExitRefused {
			t.Errorf("get an unknown tenant: exit %d", r.code)
		}
	})

	t.Run("PolicyGetAndSet", func(t *testing.T) {
		if p := decode[client.Policy](t, e.mustRun(cli.ExitOK, "", "policy", "get").stdout); p.LeakAction != "revoke" {
			t.Errorf("default policy: %+v", p)
		}
		p := decode[client.Policy](t, e.mustRun(cli.ExitOK, `{"unusedDays": 60}`, "policy", "set", "-").stdout)
		if p.UnusedDays != 60 {
			t.Errorf("policy set: %+v", p)
		}
		if r := e.run(`{"bogus": 1}`, false, "policy", "set", "-"); r.code != cli.ExitUsage {
			t.Errorf("unknown policy field: exit %d, want %d", r.code, cli.ExitUsage)
		}
		e.mustRun(cli.ExitOK, `{}`, "policy", "set", "-")
	})

	t.Run("CompletionScripts", func(t *testing.T) {
		for _, sh := range []string{"bash", "zsh", "fish"} {
			if out := e.mustRun(cli.ExitOK, "", "completion", sh).stdout; !strings.Contains(out, "keyward") {
				t.Errorf("completion %s prints no script", sh)
			}
		}
	})

	t.Run("NoTokenInTheLogs", func(t *testing.T) {
		if logs := stackLogs.String(); strings.Contains(logs, crm.Token) || strings.Contains(logs, root) {
			t.Errorf("the stack's logs hold a token")
		}
	})
}

// TestClientVerifierAgainstTheStack: the Go client's Verifier sees a
// revocation at once without a cache, and within its TTL with one.
func TestClientVerifierAgainstTheStack(t *testing.T) {
	st := startStack(t)
	root := bootstrapTenant(t, st, "verifier")
	hc := &http.Client{Timeout: 40 * time.Second, Transport: theContract(t, st.APIURL).transport(t)}
	admin, err := client.New(st.APIURL, root, client.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, err := admin.CreateKey(ctx, client.CreateKeyInput{Name: "billing service", Scopes: []string{"keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}
	user, err := admin.CreateKey(ctx, client.CreateKeyInput{Name: "a customer", Scopes: []string{"keys:read"}})
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := client.New(st.APIURL, svc.Token, client.WithHTTPClient(hc))
	plain := client.NewVerifier(vc)
	cached := client.NewVerifier(vc, client.WithCache(client.MaxCacheTTL, 100))
	for _, v := range []*client.Verifier{plain, cached} {
		got, err := v.Verify(ctx, user.Token)
		if err != nil || !got.Valid || got.KeyID != user.ID {
			t.Fatalf("verify a fresh key = %+v, %v", got, err)
		}
	}
	if _, err := admin.RevokeKey(ctx, user.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := plain.Verify(ctx, user.Token); err != nil || got.Valid || got.Code != client.VerifyRevoked {
		t.Errorf("uncached verify right after revoke = %+v, %v; want REVOKED", got, err)
	}
	eventually(t, client.MaxCacheTTL+time.Second, "the cached verifier refuses the revoked key", func() bool {
		got, err := cached.Verify(ctx, user.Token)
		return err == nil && !got.Valid
	})
	var n int
	for k, err := range admin.Keys(ctx, client.ListKeysParams{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if k.TenantID != "verifier" {
			t.Errorf("listed another tenant's key")
		}
		n++
	}
	if n != 3 {
		t.Errorf("Keys (pages of 1) yielded %d keys, want 3", n)
	}
	if _, err := admin.GetKey(ctx, "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"); client.ErrorCode(err) != "not_found" {
		t.Errorf("GetKey of an unknown key: %v", err)
	}
	if _, err := vc.CreateKey(ctx, client.CreateKeyInput{Name: "x", Scopes: []string{"keys:read"}}); client.ErrorCode(err) != "forbidden" {
		t.Errorf("create with a keys:verify key: %v", err)
	}
	doc, err := vc.OpenAPI(ctx)
	if err != nil || !bytes.Contains(doc, []byte(`"openapi": "3.1.0"`)) {
		t.Errorf("OpenAPI() = %.40s, %v", doc, err)
	}
}
