package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/client"
)

func runWith(t *testing.T, env map[string]string, tty bool, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, IO{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, StdoutTTY: tty,
		Getenv: func(k string) string { return env[k] },
	})
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	env := map[string]string{"KEYWARD_CONFIG": filepath.Join(t.TempDir(), "c.json")}
	for _, args := range [][]string{
		{"nope"}, {"keys", "nope"}, {"whoami", "--bogus"}, {"keys", "get"}, {"whoami", "-o", "yaml"},
		{"whoami"}, // not logged in
		{"keys", "create", "--name", "x", "--scope", "keys:read", "--expires", "soon"},
		{"keys", "edit", "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, // nothing to change
	} {
		if code, _, _ := runWith(t, env, false, args...); code != ExitUsage {
			t.Errorf("keyward %v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

func TestATokenIsNotPrintedOnATerminalUnlessAsked(t *testing.T) {
	env := map[string]string{"KEYWARD_URL": "http://127.0.0.1:1", "KEYWARD_TOKEN": "kw_x"}
	code, out, errOut := runWith(t, env, true, "keys", "create", "--name", "x", "--scope", "keys:read")
	if code != ExitUsage || out != "" || !strings.Contains(errOut, "--show-secret") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{failed(&client.Error{StatusCode: 404, Code: "not_found"}), ExitRefused},
		{failed(&client.Error{StatusCode: 503, Code: "unavailable"}), ExitFailure},
		{failed(errors.New("dial tcp: refused")), ExitFailure},
		{usageErrorf("x"), ExitUsage},
		{errors.New(`unknown command "x" for "keyward"`), ExitUsage},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestSaveConfigIsOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyward", "config.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Profiles: map[string]Profile{"default": {URL: "http://127.0.0.1:3000", Token: "kw_x"}}}
	if err := saveConfig(cfg, path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	a := &app{io: IO{Getenv: func(k string) string {
		return map[string]string{"KEYWARD_CONFIG": path, "KEYWARD_URL": "http://127.0.0.1:9"}[k]
	}}, profile: "default"}
	url, token, err := a.credentials()
	if err != nil || url != "http://127.0.0.1:9" || token != "kw_x" {
		t.Errorf("credentials = %q, %q, %v; want KEYWARD_URL over the profile's, the profile's token", url, token, err)
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]string{
		"720h": "2030-02-01T03:04:05Z", "30d": "2030-02-01T03:04:05Z", "2031-01-01T00:00:00Z": "2031-01-01T00:00:00Z",
	} {
		got, err := parseExpiry(in, now)
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("parseExpiry(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"0d", "-1h", "tomorrow", "1y"} {
		if _, err := parseExpiry(in, now); exitCode(err) != ExitUsage {
			t.Errorf("parseExpiry(%q) = %v, want a usage error", in, err)
		}
	}
}

func TestTablesShowControlCharactersEscaped(t *testing.T) {
	var b bytes.Buffer
	if err := keyRows(&b, []client.Key{{ID: "key_1", Name: "a\rb\x1b[2J"}}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\r\x1b") {
		t.Errorf("a name's control characters reached the terminal: %q", b.String())
	}
}
