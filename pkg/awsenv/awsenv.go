// Package awsenv reads and checks every setting keyward's functions take from
// their environment, in one place, and builds what every function shares: the
// JSON logger and the AWS configuration. What else a function builds (its
// clients, stores, hasher) is wired in its own main, so each binary links
// only what it uses.
//
// The AWS configuration is read from the variables Lambda sets (AWS_REGION
// and the execution role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN), without the SDK's config package: no shared config or
// credentials files, SSO, STS or IMDS are linked or consulted. Endpoints
// follow the SDK's variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_API_GATEWAY), which local runs set,
// and AWS_USE_FIPS_ENDPOINT=true selects the FIPS endpoints.
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
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/keyward/keyward/pkg/apikey"
)

// Defaults of the optional settings (the template's parameter defaults).
const (
	DefaultTokenPrefix          = "kw"
	DefaultRevokedRetentionDays = 90
	MaxRevokedRetentionDays     = 3650
)

// Settings are the keys functions' settings, read from their environment.
type Settings struct {
	// Table is the keys table (KEYS_TABLE, required).
	Table string
	// KMSKeyID is the KMS key protecting the peppers (KMS_KEY_ID, required):
	// a key ID, key ARN or alias.
	KMSKeyID string
	// Service holds TOKEN_PREFIX (default kw), KEY_TYPES (comma-separated,
	// empty allows any well-formed type), the scopes of ROUTE_SCOPES (a JSON
	// object of routes to scopes; the authorizer checks the routes),
	// REVOKED_RETENTION_DAYS (1-3650, default 90) and OPERATOR_TENANT (the
	// tenant of platform keys, default operator).
	Service apikey.Config
	// LogLevel is as ReadLogLevel reads it.
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
	prefix, err := ReadTokenPrefix(getenv)
	if err != nil {
		return Settings{}, err
	}
	s.Service.TokenPrefix = prefix

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

	if s.Service.OperatorTenant, err = ReadOperatorTenant(getenv); err != nil {
		return Settings{}, err
	}

	if s.LogLevel, err = ReadLogLevel(getenv); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// ReadOperatorTenant reads OPERATOR_TENANT (default operator) through getenv.
func ReadOperatorTenant(getenv func(string) string) (string, error) {
	t := strings.TrimSpace(getenv("OPERATOR_TENANT"))
	if t == "" {
		t = apikey.DefaultOperatorTenant
	}
	if !apikey.ValidTenantID(t) {
		return "", fmt.Errorf("OPERATOR_TENANT %q must match ^[a-z0-9][a-z0-9-]{1,62}$", t)
	}
	return t, nil
}

// ReadTokenPrefix reads TOKEN_PREFIX (default kw) through getenv.
func ReadTokenPrefix(getenv func(string) string) (string, error) {
	p := strings.TrimSpace(getenv("TOKEN_PREFIX"))
	if p == "" {
		p = DefaultTokenPrefix
	}
	if !apikey.ValidPrefix(p) {
		return "", fmt.Errorf("TOKEN_PREFIX %q must match ^[a-z][a-z0-9]{0,15}$", p)
	}
	return p, nil
}

// ReadLogLevel reads LOG_LEVEL, else Lambda's AWS_LAMBDA_LOG_LEVEL (set from
// the template's LoggingConfig), else INFO.
func ReadLogLevel(getenv func(string) string) (slog.Level, error) {
	var l slog.Level
	level := strings.TrimSpace(getenv("LOG_LEVEL"))
	if level == "" {
		level = strings.TrimSpace(getenv("AWS_LAMBDA_LOG_LEVEL"))
	}
	if level != "" {
		if err := l.UnmarshalText([]byte(level)); err != nil {
			return 0, fmt.Errorf("LOG_LEVEL %q must be DEBUG, INFO, WARN or ERROR", level)
		}
	}
	return l, nil
}

// NewLogger returns the JSON logger every function uses, with Lambda's field
// names (timestamp, message) so CloudWatch's JSON log format reads it.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: lambdacontext.ReplaceAttr}))
}

// Base is what every function builds first: its logger (also slog's
// default) and its AWS configuration.
type Base struct {
	Logger *slog.Logger
	AWS    aws.Config
}

// LoadBase reads the log level and the AWS configuration through getenv and
// makes the logger slog's default. It makes no network calls.
func LoadBase(getenv func(string) string) (Base, error) {
	level, err := ReadLogLevel(getenv)
	if err != nil {
		return Base{}, err
	}
	cfg, err := AWSConfig(getenv)
	if err != nil {
		return Base{}, err
	}
	log := NewLogger(os.Stdout, level)
	slog.SetDefault(log)
	return Base{Logger: log, AWS: cfg}, nil
}

// AWSConfig is the AWS configuration of a Lambda function, from the
// variables Lambda sets: the region (AWS_REGION, else AWS_DEFAULT_REGION)
// and the execution role's credentials. Service endpoints follow the SDK's
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> variables and
// AWS_USE_FIPS_ENDPOINT.
func AWSConfig(getenv func(string) string) (aws.Config, error) {
	region := strings.TrimSpace(getenv("AWS_REGION"))
	if region == "" {
		region = strings.TrimSpace(getenv("AWS_DEFAULT_REGION"))
	}
	if region == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION is not set")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	if _, err := fipsSetting(getenv); err != nil {
		return aws.Config{}, err
	}
	cfg := aws.Config{
		Region:        region,
		Credentials:   aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))),
		ConfigSources: []any{endpoints(getenv)},
	}
	if v := strings.TrimSpace(getenv("AWS_ENDPOINT_URL")); v != "" {
		cfg.BaseEndpoint = aws.String(v)
	}
	return cfg, nil
}

// endpoints answers the SDK clients' question "is an endpoint configured for
// this service?" from the AWS_ENDPOINT_URL_<SERVICE> variables, named as the
// SDK names them: the service ID upper-cased with spaces as underscores
// (DynamoDB → AWS_ENDPOINT_URL_DYNAMODB, API Gateway → …_API_GATEWAY,
// ApiGatewayV2 → …_APIGATEWAYV2, EventBridge → …_EVENTBRIDGE).
type endpoints func(string) string

// GetServiceBaseEndpoint implements the SDK's ServiceBaseEndpointProvider.
func (e endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	name := strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_"))
	v := strings.TrimSpace(e("AWS_ENDPOINT_URL_" + name))
	return v, v != "", nil
}

// GetUseFIPSEndpoint implements the SDK's UseFIPSEndpointProvider from
// AWS_USE_FIPS_ENDPOINT (true or false; AWSConfig refuses anything else).
func (e endpoints) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	state, err := fipsSetting(e)
	return state, state != aws.FIPSEndpointStateUnset, err
}

func fipsSetting(getenv func(string) string) (aws.FIPSEndpointState, error) {
	switch v := strings.TrimSpace(getenv("AWS_USE_FIPS_ENDPOINT")); strings.ToLower(v) {
	case "":
		return aws.FIPSEndpointStateUnset, nil
	case "true":
		return aws.FIPSEndpointStateEnabled, nil
	case "false":
		return aws.FIPSEndpointStateDisabled, nil
	default:
		return aws.FIPSEndpointStateUnset, fmt.Errorf("AWS_USE_FIPS_ENDPOINT %q must be true or false", v)
	}
}

// Must returns v, or on err logs the reason (a configuration error, never a
// secret) and exits, so Lambda reports an init error instead of serving with
// a broken configuration.
func Must[T any](v T, err error) T {
	if err != nil {
		NewLogger(os.Stderr, slog.LevelInfo).Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	return v
}
