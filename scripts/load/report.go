package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// stats are the figures of one kind of operation.
type stats struct {
	n        int
	ok       int // 2xx
	statuses map[int]int
	durs     []time.Duration
}

// summarize groups samples by kind.
func summarize(samples []sample) map[kind]*stats {
	out := map[kind]*stats{}
	for _, s := range samples {
		st := out[s.kind]
		if st == nil {
			st = &stats{statuses: map[int]int{}}
			out[s.kind] = st
		}
		st.n++
		st.statuses[s.status]++
		if s.status >= 200 && s.status < 300 {
			st.ok++
		}
		if s.status != 0 {
			st.durs = append(st.durs, s.dur)
		}
	}
	for _, st := range out {
		sort.Slice(st.durs, func(i, j int) bool { return st.durs[i] < st.durs[j] })
	}
	return out
}

// percentile returns the p-th percentile (nearest rank) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// histogram renders statuses as "200:12 401:3", 0 meaning no response.
func histogram(statuses map[int]int) string {
	codes := make([]int, 0, len(statuses))
	for c := range statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		name := strconv.Itoa(c)
		if c == 0 {
			name = "none"
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, statuses[c]))
	}
	return strings.Join(parts, " ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond)) }

// printTable writes one row per kind (and the total) with counts, status
// histogram and latency percentiles.
func printTable(w io.Writer, by map[kind]*stats, order []kind) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\trequests\t2xx\tp50\tp95\tp99\tmax\t\tstatuses\t")
	total := &stats{statuses: map[int]int{}}
	for _, k := range order {
		st := by[k]
		if st == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\t%s\t\n", k, st.n, st.ok,
			ms(percentile(st.durs, 50)), ms(percentile(st.durs, 95)), ms(percentile(st.durs, 99)), ms(percentile(st.durs, 100)),
			histogram(st.statuses))
		total.n += st.n
		total.ok += st.ok
		for c, n := range st.statuses {
			total.statuses[c] += n
		}
		total.durs = append(total.durs, st.durs...)
	}
	sort.Slice(total.durs, func(i, j int) bool { return total.durs[i] < total.durs[j] })
	fmt.Fprintf(tw, "all\t%d\t%d\t%s\t%s\t%s\t%s\t\t%s\t\n", total.n, total.ok,
		ms(percentile(total.durs, 50)), ms(percentile(total.durs, 95)), ms(percentile(total.durs, 99)), ms(percentile(total.durs, 100)),
		histogram(total.statuses))
	_ = tw.Flush()
}
