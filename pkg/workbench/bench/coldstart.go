package bench

import (
	"context"
	"fmt"
	"time"
)

// ColdCase is one function's cold-start measurement: its binary, its
// environment and the event of its first invocation (a fresh one per run).
type ColdCase struct {
	Name  string
	Bin   string
	Env   []string
	Event func(run int) ([]byte, error)
	// Check refuses an answer that is not the success the event asks for.
	Check func(Answer) error
	// Slack is the target: first answer ≤ floor's + Slack.
	Slack time.Duration
	// After reports exec → next event too, for a function that works after
	// answering.
	After bool
	// Warm is for a job whose own work dwarfs a start (a scheduled run of
	// many Queries): each run invokes the process a second time with the
	// same event, and the target is floor + that warm run + Slack, so it
	// holds the start's cost, not the job's. The plain figure is reported.
	Warm bool
}

// ColdRun is one exec → first answer.
type ColdRun struct {
	Ready time.Duration // exec → first GET /next
	First time.Duration // exec → first answer
	Ended time.Duration // exec → second GET /next: the work after the answer done
	Warm  time.Duration // a second invocation with the same event: event → answer (Cold's again)
}

// Cold execs bin, invokes it once with event, waits for it to ask for the
// next event (as Lambda does before it may freeze the process, so work a
// function does after answering is not cut short) and, when again is set,
// invokes it a second time with the same event; then it stops it.
func Cold(ctx context.Context, bin string, env []string, event []byte, again bool) (ColdRun, Answer, error) {
	p, err := StartProc(bin, env)
	if err != nil {
		return ColdRun{}, Answer{}, err
	}
	defer p.Stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, err := p.Invoke(ctx, event)
	if err != nil {
		return ColdRun{}, a, err
	}
	ended, err := p.RT.Ended(ctx)
	if err != nil {
		return ColdRun{}, a, err
	}
	r := ColdRun{Ready: p.RT.ReadyAt().Sub(p.Started), First: a.At.Sub(p.Started), Ended: ended.Sub(p.Started)}
	if again {
		w, err := p.Invoke(ctx, event)
		if err != nil {
			return ColdRun{}, a, fmt.Errorf("warm run: %w", err)
		}
		r.Warm = w.At.Sub(w.Sent)
	}
	return r, a, nil
}

// ColdStart runs c and the floor n times each, alternating which goes
// first, and reports the medians of exec → first answer (with a target) and
// of exec → ready for invoke (reported only).
func ColdStart(ctx context.Context, floorBin string, c ColdCase, n int) ([]Result, error) {
	var fr, cr []ColdRun
	for i := range n {
		order := []bool{false, true}
		if i%2 == 1 {
			order = []bool{true, false}
		}
		for _, isCase := range order {
			if !isCase {
				r, _, err := Cold(ctx, floorBin, nil, []byte(`{}`), false)
				if err != nil {
					return nil, fmt.Errorf("floor: %w", err)
				}
				fr = append(fr, r)
				continue
			}
			ev, err := c.Event(i)
			if err != nil {
				return nil, fmt.Errorf("%s event: %w", c.Name, err)
			}
			r, a, err := Cold(ctx, c.Bin, c.Env, ev, c.Warm)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			if c.Check != nil {
				if err := c.Check(a); err != nil {
					return nil, fmt.Errorf("%s answered wrongly: %w", c.Name, err)
				}
			}
			cr = append(cr, r)
		}
	}
	pick := func(rs []ColdRun, f func(ColdRun) time.Duration) time.Duration {
		var ds []time.Duration
		for _, r := range rs {
			ds = append(ds, f(r))
		}
		return Median(ds)
	}
	first := func(r ColdRun) time.Duration { return r.First }
	ready := func(r ColdRun) time.Duration { return r.Ready }
	ended := func(r ColdRun) time.Duration { return r.Ended }
	cf, ff := pick(cr, first), pick(fr, first)
	crd, frd := pick(cr, ready), pick(fr, ready)
	out := []Result{
		{Name: "cold start " + c.Name + " (exec→answer)", Figure: Ms(cf), Floor: Ms(ff), Ratio: ratio(cf, ff),
			Target: "≤ floor+" + Ms(c.Slack), Pass: cf <= ff+c.Slack},
		{Name: "cold start " + c.Name + " (exec→ready)", Figure: Ms(crd), Floor: Ms(frd), Ratio: ratio(crd, frd)},
	}
	if c.Warm {
		wf := ff + pick(cr, func(r ColdRun) time.Duration { return r.Warm })
		plain := out[0]
		plain.Target, plain.Pass = "", false
		out = []Result{{Name: "cold start " + c.Name + " (exec→answer, floor + warm run)", Figure: Ms(cf), Floor: Ms(wf), Ratio: ratio(cf, wf),
			Target: "≤ floor+" + Ms(c.Slack), Pass: cf <= wf+c.Slack}, plain, out[1]}
	}
	if c.After {
		ce, fe := pick(cr, ended), pick(fr, ended)
		out = append(out, Result{Name: "cold start " + c.Name + " (exec→next event)", Figure: Ms(ce), Floor: Ms(fe), Ratio: ratio(ce, fe)})
	}
	return out, nil
}

// WarmUp runs every case once, untimed, with its event of run runs (the
// one ColdCases makes beyond the timed runs), checking its answer. It warms
// the stack (DynamoDB Local's JIT, the local KMS), never a function, so the
// first function measured is not charged for it; real services are warm.
func WarmUp(ctx context.Context, cases []ColdCase, runs int) error {
	for _, c := range cases {
		ev, err := c.Event(runs)
		if err != nil {
			return fmt.Errorf("%s event: %w", c.Name, err)
		}
		_, a, err := Cold(ctx, c.Bin, c.Env, ev, false)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		if c.Check != nil {
			if err := c.Check(a); err != nil {
				return fmt.Errorf("%s answered wrongly: %w", c.Name, err)
			}
		}
	}
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
