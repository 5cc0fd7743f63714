package localstack

import (
	"context"
	"log/slog"
	"time"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// startSchedules runs the template's Schedule and ScheduleV2 events as
// EventBridge Scheduler would: each function is invoked with {} once the
// stack is up and then at its rate (every, when set, overrides every rate,
// so a local run need not wait an hour). A failed run is logged; the next
// tick runs again.
func (st *Stack) startSchedules(fns map[string]*samtemplate.ServerlessFunction, every time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	running := 0
	for _, id := range sortedKeys(fns) {
		evs, err := fns[id].ScheduleEvents()
		if err != nil {
			cancel()
			return err
		}
		for _, ev := range evs {
			rate := ev.Every
			if every > 0 {
				rate = every
			}
			log.Info("schedule", "function", id, "event", ev.Name, "expression", ev.Expression, "every", rate.String())
			running++
			go func(id string, rate time.Duration) {
				defer func() { done <- struct{}{} }()
				st.runSchedule(ctx, id, rate, log)
			}(id, rate)
		}
	}
	st.closers = append(st.closers, func() error {
		cancel()
		for range running {
			<-done
		}
		return nil
	})
	return nil
}

func (st *Stack) runSchedule(ctx context.Context, id string, rate time.Duration, log *slog.Logger) {
	t := time.NewTicker(rate)
	defer t.Stop()
	for {
		fn := st.functions[id]
		if fn == nil {
			return
		}
		res, err := fn.Invoke(ctx, []byte("{}"))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("scheduled run failed", "function", id, "error", err.Error())
		case res.FunctionError != "":
			log.Warn("scheduled run reported an error (retried at the next tick)", "function", id)
		default:
			log.Info("scheduled run", "function", id, "result", string(res.Payload))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
