package awsenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/keyevents"
)

// EventsEnv is what a function publishing lifecycle events needs: the bus
// (EVENT_BUS_NAME, required) and a logger. It reads no key material.
type EventsEnv struct {
	Bus       string
	Logger    *slog.Logger
	Publisher *keyevents.Publisher
}

// ReadEventBus reads EVENT_BUS_NAME through getenv.
func ReadEventBus(getenv func(string) string) (string, error) {
	bus := strings.TrimSpace(getenv("EVENT_BUS_NAME"))
	if bus == "" {
		return "", fmt.Errorf("EVENT_BUS_NAME is not set")
	}
	return bus, nil
}

// LoadEvents builds the EventsEnv from the process environment. It makes no
// AWS calls. AWS_ENDPOINT_URL_EVENTBRIDGE points it at a local endpoint.
func LoadEvents(ctx context.Context) (*EventsEnv, error) {
	bus, err := ReadEventBus(os.Getenv)
	if err != nil {
		return nil, err
	}
	var level slog.Level
	if l := strings.TrimSpace(os.Getenv("LOG_LEVEL")); l != "" {
		if err := level.UnmarshalText([]byte(l)); err != nil {
			return nil, fmt.Errorf("LOG_LEVEL %q must be DEBUG, INFO, WARN or ERROR", l)
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	log := NewLogger(os.Stdout, level)
	slog.SetDefault(log)
	return &EventsEnv{Bus: bus, Logger: log, Publisher: keyevents.NewPublisher(eventbridge.NewFromConfig(cfg), bus)}, nil
}

// MustLoadEvents is LoadEvents for a function's init, as MustLoad.
func MustLoadEvents() *EventsEnv {
	env, err := LoadEvents(context.Background())
	if err != nil {
		NewLogger(os.Stderr, slog.LevelInfo).Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	return env
}

// RemindersEnv is what the reminders function needs: the keys table (no
// KMS: it reads no secret material) and the event publisher.
type RemindersEnv struct {
	*EventsEnv
	Store *dynamostore.Store
}

// LoadReminders builds the RemindersEnv from the process environment
// (KEYS_TABLE, EVENT_BUS_NAME). It makes no AWS calls.
func LoadReminders(ctx context.Context) (*RemindersEnv, error) {
	table := strings.TrimSpace(os.Getenv("KEYS_TABLE"))
	if table == "" {
		return nil, fmt.Errorf("KEYS_TABLE is not set")
	}
	ev, err := LoadEvents(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return &RemindersEnv{EventsEnv: ev, Store: dynamostore.New(dynamodb.NewFromConfig(cfg), table)}, nil
}

// MustLoadReminders is LoadReminders for a function's init, as MustLoad.
func MustLoadReminders() *RemindersEnv {
	env, err := LoadReminders(context.Background())
	if err != nil {
		NewLogger(os.Stderr, slog.LevelInfo).Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	return env
}
