package keywardtest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// samplePrefixes are, per folder under functions/, the name prefixes of the
// events/ samples its package's fixture test feeds to its handler.
var samplePrefixes = map[string][]string{
	"create": {"create-key"}, "list": {"list-keys", "get-key"}, "edit": {"edit-key", "rotate-key"},
	"revoke": {"revoke-key", "batch-revoke"}, "audit": {"audit-list"}, "auditstream": {"auditstream-"},
	"verify": {"verify", "whoami"}, "authorizer": {"authorizer-"}, "console": {"console-"},
	"events": {"events-"}, "policy": {"policy-"}, "leaks": {"leaks-"}, "reminders": {"reminders-"},
	"tenants": {"tenants-"}, "flush": {"flush-"},
}

// TestEveryFunctionHasSampleEvents: each function has at least one sample
// event, so a new function comes with its samples and their fixture test.
func TestEveryFunctionHasSampleEvents(t *testing.T) {
	root, err := ddblocal.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir(root + "/functions")
	if err != nil {
		t.Fatal(err)
	}
	files := keywardtest.EventFixtures(t, "*.json")
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		prefixes, ok := samplePrefixes[d.Name()]
		if !ok {
			t.Errorf("functions/%s: no sample prefixes known here; add its events/ samples and their prefixes", d.Name())
			continue
		}
		found := false
		for name := range files {
			for _, p := range prefixes {
				found = found || strings.HasPrefix(name, p)
			}
		}
		if !found {
			t.Errorf("functions/%s has no sample in events/ (%v)", d.Name(), prefixes)
		}
	}
}
