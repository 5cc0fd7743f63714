package samtemplate

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ScheduleEvent is a function's Schedule or ScheduleV2 (EventBridge
// Scheduler) event with a rate expression.
type ScheduleEvent struct {
	// Name is the event's key under Events; Type is Schedule or ScheduleV2.
	Name string
	Type string
	// Expression is ScheduleExpression as written; Every is its rate.
	Expression string
	Every      time.Duration
}

var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

// ScheduleEvents returns the function's schedules, sorted by name. Only
// rate() expressions can be run locally; a cron() expression is an error.
func (f *ServerlessFunction) ScheduleEvents() ([]ScheduleEvent, error) {
	events, _ := f.Properties["Events"].(map[string]any)
	var out []ScheduleEvent
	for name, raw := range events {
		ev, _ := raw.(map[string]any)
		typ, _ := ev["Type"].(string)
		if typ != "Schedule" && typ != "ScheduleV2" {
			continue
		}
		p, _ := ev["Properties"].(map[string]any)
		expr, _ := p["ScheduleExpression"].(string)
		m := rateExpr.FindStringSubmatch(expr)
		if m == nil {
			return nil, fmt.Errorf("%s event %s: ScheduleExpression %q is not a rate(N unit) expression", f.LogicalID, name, expr)
		}
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
		out = append(out, ScheduleEvent{Name: name, Type: typ, Expression: expr, Every: time.Duration(n) * unit})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
