package kmsclient_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/workbench/localkms"
)

// TestRegionalEndpointsAreTheSDKs resolves each partition's endpoints with
// the SDK's own rules too.
func TestRegionalEndpointsAreTheSDKs(t *testing.T) {
	cases := map[string]string{
		"us-east-1":       "https://kms.us-east-1.amazonaws.com",
		"eu-central-2":    "https://kms.eu-central-2.amazonaws.com",
		"us-gov-west-1":   "https://kms.us-gov-west-1.amazonaws.com",
		"cn-north-1":      "https://kms.cn-north-1.amazonaws.com.cn",
		"cn-northwest-1":  "https://kms.cn-northwest-1.amazonaws.com.cn",
		"us-iso-east-1":   "https://kms.us-iso-east-1.c2s.ic.gov",
		"us-isob-east-1":  "https://kms.us-isob-east-1.sc2s.sgov.gov",
		"us-isof-south-1": "https://kms.us-isof-south-1.csp.hci.ic.gov",
		"eu-isoe-west-1":  "https://kms.eu-isoe-west-1.cloud.adc-e.uk",
		"eusc-de-east-1":  "https://kms.eusc-de-east-1.amazonaws.eu",
	}
	sdk := kms.NewDefaultEndpointResolverV2()
	for region, want := range cases {
		for _, fips := range []bool{false, true} {
			if fips {
				want = strings.Replace(want, "https://kms.", "https://kms-fips.", 1)
			}
			got, err := kmsclient.RegionalEndpoint(region, fips)
			if err != nil || got != want {
				t.Errorf("RegionalEndpoint(%s, fips %v) = %q, %v; want %q", region, fips, got, err, want)
			}
			ep, err := sdk.ResolveEndpoint(context.Background(), kms.EndpointParameters{Region: aws.String(region), UseFIPS: aws.Bool(fips)})
			if err != nil || ep.URI.String() != want {
				t.Errorf("the SDK resolves %s (fips %v) to %v, %v; this table says %q", region, fips, ep.URI.String(), err, want)
			}
		}
	}
	for _, bad := range []string{"", "US-EAST-1", "us-east-1.evil.com", "-us", "us east"} {
		if got, err := kmsclient.RegionalEndpoint(bad, false); err == nil {
			t.Errorf("RegionalEndpoint(%q) = %q, want an error", bad, got)
		}
	}
}

// TestNewFromConfigHonoursTheEndpointVariables builds the client from the
// aws.Config pkg/awsenv makes, as the functions do.
func TestNewFromConfigHonoursTheEndpointVariables(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"RegionalByDefault", nil, "https://kms.eu-west-1.amazonaws.com"},
		{"ChinaRegion", map[string]string{"AWS_REGION": "cn-north-1"}, "https://kms.cn-north-1.amazonaws.com.cn"},
		{"FIPS", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"}, "https://kms-fips.eu-west-1.amazonaws.com"},
		{"FIPSOff", map[string]string{"AWS_USE_FIPS_ENDPOINT": "false"}, "https://kms.eu-west-1.amazonaws.com"},
		{"EveryService", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, "http://127.0.0.1:4566"},
		{"KMSWinsOverEveryService", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:9000/"}, "http://127.0.0.1:9000"},
		{"CustomEndpointWinsOverFIPS", map[string]string{"AWS_ENDPOINT_URL_KMS": "https://vpce-1.kms.eu-west-1.vpce.amazonaws.com", "AWS_USE_FIPS_ENDPOINT": "true"}, "https://vpce-1.kms.eu-west-1.vpce.amazonaws.com"},
		{"OtherServicesAreIgnored", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, "https://kms.eu-west-1.amazonaws.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"}
			for k, v := range tc.env {
				env[k] = v
			}
			cfg, err := awsenv.AWSConfig(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			got, err := kmsclient.NewFromConfig(cfg).Endpoint()
			if err != nil || got != tc.want {
				t.Fatalf("endpoint = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	t.Run("BadEndpointFailsEachCall", func(t *testing.T) {
		c := kmsclient.New(kmsclient.Options{Region: "eu-west-1", Credentials: creds, BaseEndpoint: "kms.local:9000"})
		_, err := c.Decrypt(context.Background(), &kmsclient.DecryptInput{CiphertextBlob: []byte("x")})
		if err == nil || !strings.Contains(err.Error(), "http or https URL") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestAgainstTheLocalKMS round-trips a data key through the local KMS,
// which speaks the real wire protocol and checks context and key.
func TestAgainstTheLocalKMS(t *testing.T) {
	srv, err := localkms.New()
	if err != nil {
		t.Fatal(err)
	}
	arn, err := srv.CreateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	c := newClient(url, func(o *kmsclient.Options) { o.Region = "us-east-1" })
	ctx := context.Background()
	ec := map[string]string{"purpose": "test"}

	gen, err := c.GenerateDataKey(ctx, &kmsclient.GenerateDataKeyInput{KeyID: "alias/test", KeySpec: kmsclient.KeySpecAES256, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if len(gen.Plaintext) != 32 || len(gen.CiphertextBlob) == 0 || gen.KeyID != arn {
		t.Fatalf("GenerateDataKey = %d-byte key, %d-byte ciphertext, key %q; want 32, some, %q", len(gen.Plaintext), len(gen.CiphertextBlob), gen.KeyID, arn)
	}
	dec, err := c.Decrypt(ctx, &kmsclient.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: ec, KeyID: arn})
	if err != nil || string(dec.Plaintext) != string(gen.Plaintext) || dec.KeyID != arn {
		t.Fatalf("Decrypt = %v; want the data key under %s", err, arn)
	}
	for name, tc := range map[string]struct {
		in   kmsclient.DecryptInput
		code string
	}{
		"WrongContext": {kmsclient.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "other"}}, "InvalidCiphertextException"},
		"UnknownKey":   {kmsclient.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: ec, KeyID: "alias/missing"}, "NotFoundException"},
	} {
		_, err := c.Decrypt(ctx, &tc.in)
		if code := apiCode(err); code != tc.code {
			t.Errorf("%s: err = %v, want %s", name, err, tc.code)
		}
	}
}

func apiCode(err error) string {
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// TestNoFunctionLinksTheSDKKMSClient keeps the SDK's KMS client (about
// 0.4 MiB) out of every Lambda binary: functions use this package.
func TestNoFunctionLinksTheSDKKMSClient(t *testing.T) {
	const sdkKMS = "github.com/aws/aws-sdk-go-v2/service/kms"
	cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./functions/...")
	cmd.Dir = "../.."
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fn, deps, _ := strings.Cut(line, " ")
		for _, d := range strings.Fields(deps) {
			if d == sdkKMS || strings.HasPrefix(d, sdkKMS+"/") {
				t.Errorf("%s links %s; use package kmsclient", fn, d)
			}
		}
	}
}
