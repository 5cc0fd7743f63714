package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadParamFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.json")
	body := `{"RouteScopes": "{\"GET /r\": \"r:read\"}", "AuthorizerCacheTtl": 0,
		"recordings": {"AuthorizerCacheTtl": 60, "Stage": "beta"}, "recordings.Stage": "gamma"}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p := params{"AuthorizerCacheTtl": "5"} // a -param flag wins
	if err := readParamFile(path, p); err != nil {
		t.Fatal(err)
	}
	want := params{"RouteScopes": `{"GET /r": "r:read"}`, "AuthorizerCacheTtl": "5", "recordings.AuthorizerCacheTtl": "60"}
	stage := p["recordings.Stage"]
	delete(p, "recordings.Stage")
	if !reflect.DeepEqual(p, want) || (stage != "beta" && stage != "gamma") {
		t.Errorf("params = %v (recordings.Stage %q), want %v", p, stage, want)
	}
	if err := os.WriteFile(path, []byte(`{"recordings": {"Stage": ["v1"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := readParamFile(path, params{}); err == nil || !strings.Contains(err.Error(), "recordings.Stage") {
		t.Errorf("err = %v, want one naming recordings.Stage", err)
	}
}
