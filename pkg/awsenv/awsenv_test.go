package awsenv_test

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

func TestReadSettings(t *testing.T) {
	base := map[string]string{"KEYS_TABLE": "keys", "KMS_KEY_ID": "alias/keyward"}
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, s awsenv.Settings)
	}{
		{name: "DefaultsApply", env: base, check: func(t *testing.T, s awsenv.Settings) {
			if s.Table != "keys" || s.KMSKeyID != "alias/keyward" || s.Service.TokenPrefix != "kw" ||
				len(s.Service.KeyTypes) != 0 || s.Service.RevokedRetention != 90*24*time.Hour || s.LogLevel != slog.LevelInfo {
				t.Fatalf("%+v", s)
			}
		}},
		{name: "EverySettingIsRead", env: map[string]string{"TOKEN_PREFIX": "acme", "KEY_TYPES": " client, server ,,client", "REVOKED_RETENTION_DAYS": "30", "LOG_LEVEL": "debug"},
			check: func(t *testing.T, s awsenv.Settings) {
				if s.Service.TokenPrefix != "acme" || !slices.Equal(s.Service.KeyTypes, []string{"client", "server"}) ||
					s.Service.RevokedRetention != 30*24*time.Hour || s.LogLevel != slog.LevelDebug {
					t.Fatalf("%+v", s)
				}
			}},
		{name: "LambdaLogLevelIsTheFallback", env: map[string]string{"AWS_LAMBDA_LOG_LEVEL": "WARN"}, check: func(t *testing.T, s awsenv.Settings) {
			if s.LogLevel != slog.LevelWarn {
				t.Fatalf("level %v", s.LogLevel)
			}
		}},
		{name: "MissingTableIsRefused", env: map[string]string{"KEYS_TABLE": ""}, wantErr: "KEYS_TABLE"},
		{name: "MissingKMSKeyIsRefused", env: map[string]string{"KMS_KEY_ID": " "}, wantErr: "KMS_KEY_ID"},
		{name: "BadPrefixIsRefused", env: map[string]string{"TOKEN_PREFIX": "KW-"}, wantErr: "TOKEN_PREFIX"},
		{name: "BadKeyTypeIsRefused", env: map[string]string{"KEY_TYPES": "client,Server"}, wantErr: "KEY_TYPES"},
		{name: "ZeroRetentionIsRefused", env: map[string]string{"REVOKED_RETENTION_DAYS": "0"}, wantErr: "REVOKED_RETENTION_DAYS"},
		{name: "NonNumericRetentionIsRefused", env: map[string]string{"REVOKED_RETENTION_DAYS": "90d"}, wantErr: "REVOKED_RETENTION_DAYS"},
		{name: "UnknownLogLevelIsRefused", env: map[string]string{"LOG_LEVEL": "LOUD"}, wantErr: "LOG_LEVEL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			s, err := awsenv.ReadSettings(func(k string) string { return env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

// TestLoadHonoursSDKEndpointVariables builds the Env from the environment a
// local run sets, with AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS
// pointing at DynamoDB Local and a local KMS, and issues a key through it.
func TestLoadHonoursSDKEndpointVariables(t *testing.T) {
	tables := ddblocaltest.Tables(t)
	local := keywardtest.StartKMS(t)
	keyARN, kmsURL := local.KeyARN, local.URL
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_PROFILE": "",
		"AWS_ENDPOINT_URL_DYNAMODB": ddblocaltest.Shared(t).Endpoint, "AWS_ENDPOINT_URL_KMS": kmsURL,
		"KEYS_TABLE": tables["KeysTable"], "KMS_KEY_ID": keyARN, "TOKEN_PREFIX": "acme", "KEY_TYPES": "server,client",
	} {
		t.Setenv(k, v)
	}
	defer slog.SetDefault(slog.Default())

	env, err := awsenv.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Hasher.EnsureCurrent(context.Background()); err != nil { // what bootstrap does first
		t.Fatalf("create the pepper through the loaded Env: %v", err)
	}
	c, err := env.Service.Bootstrap(context.Background(), "acme", "system:test")
	if err != nil {
		t.Fatalf("bootstrap through the loaded Env: %v", err)
	}
	iss, err := env.Service.Create(context.Background(), apikey.Caller{TenantID: "acme", KeyID: c.ID, Scopes: c.Scopes}, apikey.CreateInput{Name: "wired", Scopes: []string{"a:b"}})
	if err != nil {
		t.Fatalf("create through the loaded Env: %v", err)
	}
	if !strings.HasPrefix(iss.Token, "acme_") || iss.Type != "server" {
		t.Fatalf("settings not applied: token prefix %q, type %q", iss.Token[:5], iss.Type)
	}
	got, err := env.Store.GetKey(context.Background(), iss.ID)
	if err != nil || got.Name != "wired" {
		t.Fatalf("key not in the table: %v", err)
	}
}
