package keywardtest

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/unicoderules"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
)

// The key the fixtures in events/ carry: tenant acme, "CRM sync", keys:read
// and recordings:read. Its secret exists only in them and in the tables
// tests create.
const (
	FixtureKeyID  = "key_01M844DZG00Y9TBV1NVT5ZM5VK"
	FixtureSecret = "da7tqmASI2k1CICyHn41pN6hkQLneEbiEgu1hph7cdk"
)

// SeedFixtureKey stores the fixtures' key, made at at by system:test, and
// returns its token, so that the fixtures' credentials are good.
func (s *Stack) SeedFixtureKey(tb testing.TB, at time.Time) (token string) {
	tb.Helper()
	ctx := context.Background()
	h, err := s.Hasher.Hash(ctx, []byte(FixtureSecret))
	if err != nil {
		tb.Fatal(err)
	}
	token = apikey.FormatToken("kw", FixtureKeyID, FixtureSecret)
	k := &apikey.StoredKey{
		Key: apikey.Key{
			ID: FixtureKeyID, TenantID: "acme", Name: "CRM sync", Type: "integration",
			Scopes: []string{"keys:read", "recordings:read"}, AllowList: apikey.AllowList{IPs: []string{}, Origins: []string{}},
			Metadata: map[string]string{}, Status: apikey.StatusActive, Hint: apikey.Hint(token),
			CreatedAt: at, CreatedBy: "system:test", UpdatedAt: at, UpdatedBy: "system:test", Version: 1,
		},
		SecretHash: h,
		Change:     apikey.Change{Actor: "system:test"},
	}
	k.NameKey = unicoderules.NameKey(k.Name)
	if err := s.Store.CreateKey(ctx, k); err != nil {
		tb.Fatal(err)
	}
	return token
}

// EventFixtures returns the files in the repository's events/ whose names
// match any of patterns (filepath.Match syntax), name → path. It fails tb if
// none does.
func EventFixtures(tb testing.TB, patterns ...string) map[string]string {
	tb.Helper()
	root, err := ddblocal.RepoRoot(".")
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string]string{}
	for _, pat := range patterns {
		m, err := filepath.Glob(filepath.Join(root, "events", pat))
		if err != nil {
			tb.Fatal(err)
		}
		for _, path := range m {
			files[filepath.Base(path)] = path
		}
	}
	if len(files) == 0 {
		tb.Fatalf("no fixtures in events/ match %q", patterns)
	}
	return files
}

// FeedEvents runs feed as a subtest named for the fixture, for each of files
// (name → path, as EventFixtures returns them) in name order, with its bytes
// and its outcome in want. Every fixture must have an outcome, and every
// outcome a fixture: the subtest of a fixture missing from want fails, and
// so does t for a name in want that files lacks.
func FeedEvents[W any](t *testing.T, files map[string]string, want map[string]W, feed func(t *testing.T, name string, raw []byte, w W)) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("events/%s has no expected outcome in this test: add one", name)
			}
			raw, err := os.ReadFile(files[name])
			if err != nil {
				t.Fatal(err)
			}
			feed(t, name, raw, w)
		})
	}
	for name := range want {
		if _, ok := files[name]; !ok {
			t.Errorf("events/%s is expected but missing", name)
		}
	}
}
