// Package awsenv wires keyward's functions from the Lambda environment: it
// reads the settings the template passes as environment variables, loads the
// AWS configuration once per container and builds the store, the KMS pepper
// hasher, the key service and the JSON logger.
//
// Endpoints are the SDK's own business: for local runs set
// AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS, which
// config.LoadDefaultConfig honours.
package awsenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
)

// Defaults of the optional settings (the template's parameter defaults).
const (
	DefaultTokenPrefix          = "kw"
	DefaultRevokedRetentionDays = 90
	MaxRevokedRetentionDays     = 3650
)

// Settings are a function's settings, read from its environment.
type Settings struct {
	// Table is the keys table (KEYS_TABLE, required).
	Table string
	// KMSKeyID is the KMS key protecting the peppers (KMS_KEY_ID, required):
	// a key ID, key ARN or alias.
	KMSKeyID string
	// Service holds TOKEN_PREFIX (default kw), KEY_TYPES (comma-separated,
	// empty allows any well-formed type), the scopes of ROUTE_SCOPES (a JSON
	// object of routes to scopes; the authorizer checks the routes) and
	// REVOKED_RETENTION_DAYS (1-3650, default 90).
	Service apikey.Config
	// LogLevel is LOG_LEVEL, else Lambda's AWS_LAMBDA_LOG_LEVEL (set from the
	// template's LoggingConfig), else INFO.
	LogLevel slog.Level
}

// ReadSettings reads and checks the settings through getenv (os.Getenv in a
// function). A missing or malformed setting is an error naming the variable.
func ReadSettings(getenv func(string) string) (Settings, error) {
	s := Settings{
		Table:    strings.TrimSpace(getenv("KEYS_TABLE")),
		KMSKeyID: strings.TrimSpace(getenv("KMS_KEY_ID")),
	}
	if s.Table == "" {
		return Settings{}, fmt.Errorf("KEYS_TABLE is not set")
	}
	if s.KMSKeyID == "" {
		return Settings{}, fmt.Errorf("KMS_KEY_ID is not set")
	}

	s.Service.TokenPrefix = strings.TrimSpace(getenv("TOKEN_PREFIX"))
	if s.Service.TokenPrefix == "" {
		s.Service.TokenPrefix = DefaultTokenPrefix
	}
	if !apikey.ValidPrefix(s.Service.TokenPrefix) {
		return Settings{}, fmt.Errorf("TOKEN_PREFIX %q must match ^[a-z][a-z0-9]{0,15}$", s.Service.TokenPrefix)
	}

	for _, t := range strings.Split(getenv("KEY_TYPES"), ",") {
		t = strings.TrimSpace(t)
		if t == "" || slices.Contains(s.Service.KeyTypes, t) {
			continue
		}
		if !apikey.ValidType(t) {
			return Settings{}, fmt.Errorf("KEY_TYPES: %q must match ^[a-z][a-z0-9_-]{0,31}$", t)
		}
		s.Service.KeyTypes = append(s.Service.KeyTypes, t)
	}

	if v := strings.TrimSpace(getenv("ROUTE_SCOPES")); v != "" {
		var routes map[string]string
		if err := json.Unmarshal([]byte(v), &routes); err != nil {
			return Settings{}, fmt.Errorf(`ROUTE_SCOPES must be a JSON object such as {"GET /recordings/{id}": "recordings:read"}`)
		}
		for _, sc := range routes {
			if !slices.Contains(s.Service.RouteScopes, sc) {
				s.Service.RouteScopes = append(s.Service.RouteScopes, sc)
			}
		}
	}

	days := DefaultRevokedRetentionDays
	if v := strings.TrimSpace(getenv("REVOKED_RETENTION_DAYS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxRevokedRetentionDays {
			return Settings{}, fmt.Errorf("REVOKED_RETENTION_DAYS %q must be a whole number of days from 1 to %d", v, MaxRevokedRetentionDays)
		}
		days = n
	}
	s.Service.RevokedRetention = time.Duration(days) * 24 * time.Hour

	level := strings.TrimSpace(getenv("LOG_LEVEL"))
	if level == "" {
		level = strings.TrimSpace(getenv("AWS_LAMBDA_LOG_LEVEL"))
	}
	if level != "" {
		if err := s.LogLevel.UnmarshalText([]byte(level)); err != nil {
			return Settings{}, fmt.Errorf("LOG_LEVEL %q must be DEBUG, INFO, WARN or ERROR", level)
		}
	}
	return s, nil
}

// NewLogger returns the JSON logger every function uses, with Lambda's field
// names (timestamp, message) so CloudWatch's JSON log format reads it.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: lambdacontext.ReplaceAttr}))
}

// Env is everything a function needs, built once per container.
type Env struct {
	Settings Settings
	AWS      aws.Config
	Logger   *slog.Logger
	Store    *dynamostore.Store
	Hasher   *kmspepper.Hasher
	Service  *apikey.Service
}

// Load builds the Env from the process environment and the default AWS
// configuration chain. It makes no AWS calls: peppers load on first use. It
// also makes the logger slog's default, so every package logs the same way.
func Load(ctx context.Context) (*Env, error) {
	s, err := ReadSettings(os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	log := NewLogger(os.Stdout, s.LogLevel)
	slog.SetDefault(log)
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), s.Table)
	hasher := kmspepper.New(kms.NewFromConfig(cfg), store, s.KMSKeyID)
	return &Env{
		Settings: s,
		AWS:      cfg,
		Logger:   log,
		Store:    store,
		Hasher:   hasher,
		Service:  apikey.NewService(store, hasher, s.Service),
	}, nil
}

// MustLoad is Load for a function's init: on failure it logs the reason (a
// configuration error, never a secret) and exits, so Lambda reports an init
// error instead of serving with a broken configuration.
func MustLoad() *Env {
	env, err := Load(context.Background())
	if err != nil {
		NewLogger(os.Stderr, slog.LevelInfo).Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	return env
}
