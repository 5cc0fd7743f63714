package localstack_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/workbench/ddblocal/listencheck"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
	"github.com/keyward/keyward/pkg/workbench/localevents"
	"github.com/keyward/keyward/pkg/workbench/localstack"
)

// startStack starts the whole local stack on free ports with a temporary
// data directory, and closes it when t ends.
func startStack(t *testing.T) *localstack.Stack {
	t.Helper()
	logs := &keywardtest.LogBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	st, err := localstack.Start(ctx, localstack.Options{
		DataDir:  t.TempDir(),
		Output:   logs,
		Terminal: io.Discard, // the token is read from its file
	})
	if err != nil {
		t.Fatalf("the local stack did not start: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("stop the stack: %v", err)
		}
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs.String())
		}
	})
	return st
}

func port(t *testing.T, rawURL string) int {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("%s names no port", rawURL)
	}
	return p
}

// Every socket the stack listens on — the API, the Lambda endpoint, the
// local KMS, DynamoDB Local (a Java child) and each function's Runtime API —
// is bound to loopback and closed to the machine's other addresses; every
// file that holds a token or key material is readable by its owner only.
func TestStackIsReachableFromLoopbackOnly(t *testing.T) {
	st := startStack(t)

	token, err := os.ReadFile(st.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	// A call through the gateway, the authorizer and a function: their
	// processes and Runtime APIs run while the sockets are listed.
	req, _ := http.NewRequest("GET", st.APIURL+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/whoami with the admin token = %d, want 200", resp.StatusCode)
	}

	t.Run("EveryListenerIsLoopbackOnly", func(t *testing.T) {
		listencheck.LoopbackOnly(t, listencheck.Self(t),
			port(t, st.APIURL), port(t, st.LambdaURL), port(t, st.KMSURL), port(t, st.DynamoDBURL), port(t, st.EventsURL))
	})
	t.Run("TheBootstrappedKeyIsAKeyCreatedEvent", func(t *testing.T) {
		// The keys stream → EventsFunction → the local PutEvents endpoint.
		file := filepath.Join(st.DataDir, localstack.EventsFile)
		deadline := time.Now().Add(time.Minute)
		for {
			evs, _ := localevents.ReadFile(file)
			for _, e := range evs {
				if e.Source == "keyward" && e.DetailType == "key.created" && strings.Contains(string(e.Detail), `"tenantId":"local"`) {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no key.created event in %s after a minute: %v", file, evs)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("SecretFilesAre0600", func(t *testing.T) {
		for _, name := range []string{localstack.AdminTokenFile, localstack.StateFile, "kms.json"} {
			fi, err := os.Stat(filepath.Join(st.DataDir, name))
			if err != nil {
				t.Error(err)
				continue
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s mode = %v, want 0600", name, got)
			}
		}
	})
}
