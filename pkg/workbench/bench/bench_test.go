package bench_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/workbench/bench"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
)

// TestColdRunOfTheFloor is the benchmarks' smoke test: the floor builds
// with the Lambda flags, starts against the minimal Runtime API and answers.
// It checks what happened, never how fast.
func TestColdRunOfTheFloor(t *testing.T) {
	root, err := ddblocal.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := bench.Build(context.Background(), root, bench.FloorPackage, runtime.GOOS, runtime.GOARCH, filepath.Join(t.TempDir(), "floor"))
	if err != nil {
		t.Fatal(err)
	}
	r, a, err := bench.Cold(context.Background(), bin, nil, []byte(`{}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if a.Failed || string(a.Payload) != `"hello"` {
		t.Fatalf("answer %s (failed %v)", a.Payload, a.Failed)
	}
	if r.Ready <= 0 || r.First < r.Ready || r.Ended < r.First || r.Warm <= 0 {
		t.Fatalf("ready %v, first answer %v, next event %v, warm run %v: want 0 < ready ≤ first ≤ next, warm > 0", r.Ready, r.First, r.Ended, r.Warm)
	}
}

func TestSummaryTable(t *testing.T) {
	var b bytes.Buffer
	rs := []bench.Result{
		{Name: "a", Figure: "1.0 ms", Floor: "1.0 ms", Ratio: 1, Target: "≤ 1.30", Pass: true},
		{Name: "bb", Figure: "3.0 ms", Floor: "1.0 ms", Ratio: 3, Target: "≤ 1.30"},
		{Name: "c", Figure: "2.0 ms", Floor: "-"},
	}
	bench.Print(&b, rs)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "figure") || !strings.HasSuffix(lines[2], "PASS") ||
		!strings.HasSuffix(lines[3], "FAIL") || !strings.HasSuffix(lines[4], "info") {
		t.Fatalf("table:\n%s", b.String())
	}
	if !bench.Failed(rs) || bench.Failed(rs[:1]) {
		t.Error("Failed disagrees with the rows")
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	if bench.Median(ds) != 50 || bench.Percentile(ds, 99) != 99 || bench.Percentile(ds, 100) != 100 || bench.Median(nil) != 0 {
		t.Errorf("median %v, p99 %v", bench.Median(ds), bench.Percentile(ds, 99))
	}
}

// TestEveryFunctionIsMeasured: every folder under functions/ has a cold
// case (bench.ColdFunctions) and is sized (bench.Functions lists what the
// size run builds), so the bench's list cannot drift from functions/.
func TestEveryFunctionIsMeasured(t *testing.T) {
	root, err := ddblocal.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := bench.Functions(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no functions found under functions/")
	}
	for _, d := range dirs {
		if !slices.Contains(bench.ColdFunctions, d) {
			t.Errorf("functions/%s has no cold-start case: add it to bench.ColdFunctions and Env.coldCases", d)
		}
		if _, err := os.Stat(filepath.Join(root, "functions", d, "main.go")); err != nil {
			t.Errorf("functions/%s: %v (the size run builds it)", d, err)
		}
	}
	for _, f := range bench.ColdFunctions {
		if !slices.Contains(dirs, f) {
			t.Errorf("cold case %s has no folder under functions/", f)
		}
	}
}
