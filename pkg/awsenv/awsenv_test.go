package awsenv_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/unicoderules"
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

// localEnv is the environment of a local run: region, dummy credentials and
// the SDK's endpoint variables pointing at DynamoDB Local and a local KMS.
func localEnv(ddbURL, kmsURL string, more map[string]string) func(string) string {
	env := map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_ENDPOINT_URL_DYNAMODB": ddbURL, "AWS_ENDPOINT_URL_KMS": kmsURL,
	}
	for k, v := range more {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

func TestAWSConfig(t *testing.T) {
	t.Run("RegionAndCredentialsAreRequired", func(t *testing.T) {
		for _, tc := range []struct{ unset, want string }{{"AWS_REGION", "AWS_REGION"}, {"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"}} {
			getenv := localEnv("", "", map[string]string{tc.unset: ""})
			if _, err := awsenv.AWSConfig(getenv); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("without %s: err = %v", tc.unset, err)
			}
		}
	})
	t.Run("DefaultRegionIsTheFallback", func(t *testing.T) {
		cfg, err := awsenv.AWSConfig(localEnv("", "", map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "eu-west-1"}))
		if err != nil || cfg.Region != "eu-west-1" {
			t.Fatalf("region %q, %v", cfg.Region, err)
		}
	})
	t.Run("SessionTokenIsPassedOn", func(t *testing.T) {
		cfg, err := awsenv.AWSConfig(localEnv("", "", map[string]string{"AWS_SESSION_TOKEN": "tok"}))
		if err != nil {
			t.Fatal(err)
		}
		c, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil || c.AccessKeyID != "local" || c.SessionToken != "tok" {
			t.Fatalf("credentials %v, %v", c.AccessKeyID, err)
		}
	})
}

// TestLambdaConfigHonoursSDKEndpointVariables wires a store and a hasher the
// way the functions do, from the environment a local run sets, and issues a
// key through them.
func TestLambdaConfigHonoursSDKEndpointVariables(t *testing.T) {
	tables := ddblocaltest.Tables(t)
	local := keywardtest.StartKMS(t)
	getenv := localEnv(ddblocaltest.Shared(t).Endpoint, local.URL, map[string]string{
		"KEYS_TABLE": tables["KeysTable"], "KMS_KEY_ID": local.KeyARN, "TOKEN_PREFIX": "acme", "KEY_TYPES": "server,client",
	})
	defer slog.SetDefault(slog.Default())

	base, err := awsenv.LoadBase(getenv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := awsenv.ReadSettings(getenv)
	if err != nil {
		t.Fatal(err)
	}
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	hasher := kmspepper.New(kms.NewFromConfig(base.AWS), store, s.KMSKeyID)
	if _, err := hasher.EnsureCurrent(context.Background()); err != nil { // what bootstrap does first
		t.Fatalf("create the pepper through the local endpoints: %v", err)
	}
	svc := apikey.NewService(store, hasher, unicoderules.Rules{}, s.Service)
	c, err := svc.Bootstrap(context.Background(), "acme", "system:test")
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	iss, err := svc.Create(context.Background(), apikey.Caller{TenantID: "acme", KeyID: c.ID, Scopes: c.Scopes}, apikey.CreateInput{Name: "wired", Scopes: []string{"a:b"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(iss.Token, "acme_") || iss.Type != "server" {
		t.Fatalf("settings not applied: token prefix %q, type %q", iss.Token[:5], iss.Type)
	}
	// A second hasher (a new container) preloads the pepper and verifies.
	h2 := kmspepper.New(kms.NewFromConfig(base.AWS), store, s.KMSKeyID)
	h2.Preload(context.Background())
	got, err := store.GetKey(context.Background(), iss.ID)
	if err != nil || got.Name != "wired" {
		t.Fatalf("key not in the table: %v", err)
	}
	if ok, err := h2.Verify(context.Background(), []byte(iss.Secret), got.SecretHash); err != nil || !ok {
		t.Fatalf("verify after preload: %v, %v", ok, err)
	}
}

// TestFunctionsLinkOnlyWhatTheyUse: the authorizer links nothing of the
// audit trail; the audit stream function no KMS client or hasher; revoke no
// KMS client; only the flush function the API Gateway management clients; no
// function the SDK's config package (shared files, SSO, STS).
func TestFunctionsLinkOnlyWhatTheyUse(t *testing.T) {
	const mod = "github.com/keyward/keyward/"
	forbidden := map[string][]string{
		"authorizer":  {mod + "pkg/audit", mod + "pkg/auditstore", mod + "pkg/auditstream", mod + "pkg/auditapi", mod + "pkg/gwflush", "github.com/aws/aws-sdk-go-v2/service/apigateway"},
		"auditstream": {mod + "pkg/kmspepper", "github.com/aws/aws-sdk-go-v2/service/kms", "github.com/aws/aws-sdk-go-v2/service/apigateway"},
		"revoke":      {mod + "pkg/kmspepper", "github.com/aws/aws-sdk-go-v2/service/kms"},
		"verify":      {mod + "pkg/auditstore", "github.com/aws/aws-sdk-go-v2/service/apigateway"},
	}
	dirs, err := os.ReadDir("../../functions")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		fn := d.Name()
		if fn != "flush" {
			forbidden[fn] = append(forbidden[fn], "github.com/aws/aws-sdk-go-v2/service/apigateway", "github.com/aws/aws-sdk-go-v2/service/apigatewayv2")
		}
		out, err := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "../../functions/"+fn).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", fn, err)
		}
		deps := strings.Fields(string(out))
		for _, bad := range append(forbidden[fn], "github.com/aws/aws-sdk-go-v2/config") {
			if slices.Contains(deps, bad) {
				t.Errorf("functions/%s links %s", fn, bad)
			}
		}
	}
}
