// Package bench measures keyward beside floors taken in the same run (cold
// start, binary size, memory, admin paths, audit lag) for `make bench`
// (scripts/bench). Figures are ratios to their floors, because this machine
// is shared and absolute times are noise; nothing here is a timed test.
// Workbench only.
package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Result is one row of the summary table.
type Result struct {
	Name   string
	Figure string // what was measured
	Floor  string // what it is compared with, measured in the same run
	Ratio  float64
	Target string // "" for a figure reported without a target
	Pass   bool
}

// Status is PASS, FAIL or info (no target).
func (r Result) Status() string {
	switch {
	case r.Target == "":
		return "info"
	case r.Pass:
		return "PASS"
	}
	return "FAIL"
}

// Print writes results as one aligned table.
func Print(w io.Writer, results []Result) {
	rows := [][]string{{"figure", "value", "floor", "ratio", "target", "result"}}
	for _, r := range results {
		ratio := "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		rows = append(rows, []string{r.Name, r.Figure, r.Floor, ratio, r.Target, r.Status()})
	}
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	for n, row := range rows {
		var b strings.Builder
		for i, c := range row {
			fmt.Fprintf(&b, "%-*s  ", width[i], c)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if n == 0 {
			fmt.Fprintln(w, strings.Repeat("-", b.Len()-2))
		}
	}
}

// Failed reports whether any result with a target failed.
func Failed(results []Result) bool {
	return slices.ContainsFunc(results, func(r Result) bool { return r.Target != "" && !r.Pass })
}

// Median of ds (0 for none).
func Median(ds []time.Duration) time.Duration { return Percentile(ds, 50) }

// Percentile p (0-100) of ds, nearest rank (0 for none).
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Ms formats d in milliseconds.
func Ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// MiB formats n bytes in MiB.
func MiB(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
