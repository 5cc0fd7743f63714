package awsenv

import (
	"fmt"
	"strings"
)

// ReadEventBus reads EVENT_BUS_NAME (required) through getenv: the bus the
// lifecycle functions (events, reminders) publish to.
func ReadEventBus(getenv func(string) string) (string, error) {
	bus := strings.TrimSpace(getenv("EVENT_BUS_NAME"))
	if bus == "" {
		return "", fmt.Errorf("EVENT_BUS_NAME is not set")
	}
	return bus, nil
}
