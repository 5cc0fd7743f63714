package localkms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// MustStart starts s on 127.0.0.1 and returns its base URL; it stops with the test.
func MustStart(tb testing.TB, s *Server) string {
	tb.Helper()
	url, stop, err := s.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = stop() })
	return url
}

// MustClient returns a real SDK KMS client for the endpoint at url.
func MustClient(tb testing.TB, url string) *kms.Client {
	tb.Helper()
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = 1
	})
}

// fixture is a running server with one key, aliased "alias/test".
type fixture struct {
	srv    *Server
	client *kms.Client
	url    string
	arn    string
	id     string
}

func mustFixture(tb testing.TB, opts ...Option) fixture {
	tb.Helper()
	s, err := New(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	arn, err := s.CreateKey("test")
	if err != nil {
		tb.Fatal(err)
	}
	url := MustStart(tb, s)
	return fixture{srv: s, client: MustClient(tb, url), url: url, arn: arn, id: arn[strings.LastIndex(arn, "/")+1:]}
}

func TestCreateKeyReturnsARN(t *testing.T) {
	f := mustFixture(t)
	if got, want := f.arn, "arn:aws:kms:us-east-1:000000000000:key/"+f.id; got != want {
		t.Fatalf("arn = %q, want %q", got, want)
	}
	if !uuidRE.MatchString(f.id) {
		t.Fatalf("key ID %q is not a UUID", f.id)
	}
}

func TestGenerateDataKeyThenDecryptReturnsPlaintext(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	ec := map[string]string{"purpose": "keyward-pepper", "b": "2"}
	tests := []struct {
		name      string
		in        kms.GenerateDataKeyInput
		wantLen   int
		decryptID *string
	}{
		{"AES256ByAlias", kms.GenerateDataKeyInput{KeyId: aws.String("alias/test"), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec}, 32, nil},
		{"AES128ByKeyID", kms.GenerateDataKeyInput{KeyId: aws.String(f.id), KeySpec: types.DataKeySpecAes128, EncryptionContext: ec}, 16, aws.String(f.id)},
		{"NumberOfBytesByARN", kms.GenerateDataKeyInput{KeyId: aws.String(f.arn), NumberOfBytes: aws.Int32(64)}, 64, aws.String(f.arn)},
		{"OneByteWithAliasARNOnDecrypt", kms.GenerateDataKeyInput{KeyId: aws.String(f.arn), NumberOfBytes: aws.Int32(1)}, 1, aws.String("arn:aws:kms:us-east-1:000000000000:alias/test")},
		{"MaxBytes", kms.GenerateDataKeyInput{KeyId: aws.String("alias/test"), NumberOfBytes: aws.Int32(1024), EncryptionContext: ec}, 1024, aws.String("alias/test")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			gen, err := f.client.GenerateDataKey(ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(gen.Plaintext), tt.wantLen; got != want {
				t.Fatalf("len(Plaintext) = %d, want %d", got, want)
			}
			if got, want := aws.ToString(gen.KeyId), f.arn; got != want {
				t.Fatalf("KeyId = %q, want %q", got, want)
			}
			if bytes.Contains(gen.CiphertextBlob, gen.Plaintext) && tt.wantLen > 8 {
				t.Fatal("ciphertext contains the plaintext")
			}
			dec, err := f.client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: tt.in.EncryptionContext, KeyId: tt.decryptID})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dec.Plaintext, gen.Plaintext) {
				t.Fatal("decrypted plaintext differs from generated plaintext")
			}
			if got, want := aws.ToString(dec.KeyId), f.arn; got != want {
				t.Fatalf("Decrypt KeyId = %q, want %q", got, want)
			}
		})
	}
}

func TestEncryptThenDecryptReturnsPlaintext(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		plaintext []byte
		ec        map[string]string
	}{
		{"NoContext", []byte("hello"), nil},
		{"WithContext", []byte("hello"), map[string]string{"tenant": "t1", "a": "x"}},
		{"MaxSize", bytes.Repeat([]byte{7}, 4096), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := f.client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/test"), Plaintext: tt.plaintext, EncryptionContext: tt.ec})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := enc.EncryptionAlgorithm, types.EncryptionAlgorithmSpecSymmetricDefault; got != want {
				t.Fatalf("EncryptionAlgorithm = %q, want %q", got, want)
			}
			dec, err := f.client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: tt.ec})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dec.Plaintext, tt.plaintext) {
				t.Fatal("round trip changed the plaintext")
			}
		})
	}
}

func TestEncryptingTwiceGivesDifferentCiphertexts(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	in := &kms.EncryptInput{KeyId: aws.String(f.id), Plaintext: []byte("same")}
	a, err := f.client.Encrypt(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.client.Encrypt(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.CiphertextBlob, b.CiphertextBlob) {
		t.Fatal("two encryptions gave the same ciphertext")
	}
}

func TestDecryptRefusesMismatchedInput(t *testing.T) {
	f := mustFixture(t)
	other, err := f.srv.CreateKey("other")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ec := map[string]string{"purpose": "keyward-pepper"}
	gen, err := f.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(f.arn), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	blob := gen.CiphertextBlob
	flip := func(i int) []byte {
		b := bytes.Clone(blob)
		b[i] ^= 0x01
		return b
	}
	var (
		invalid   *types.InvalidCiphertextException
		incorrect *types.IncorrectKeyException
		notFound  *types.NotFoundException
	)
	tests := []struct {
		name   string
		in     kms.DecryptInput
		wantAs any
	}{
		{"WrongContextIsInvalidCiphertext", kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: map[string]string{"purpose": "other"}}, &invalid},
		{"MissingContextIsInvalidCiphertext", kms.DecryptInput{CiphertextBlob: blob}, &invalid},
		{"ExtraContextIsInvalidCiphertext", kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: map[string]string{"purpose": "keyward-pepper", "x": "y"}}, &invalid},
		{"TamperedTagIsInvalidCiphertext", kms.DecryptInput{CiphertextBlob: flip(len(blob) - 1), EncryptionContext: ec}, &invalid},
		{"TamperedBodyIsInvalidCiphertext", kms.DecryptInput{CiphertextBlob: flip(len(blob) - 20), EncryptionContext: ec}, &invalid},
		{"TamperedNonceIsInvalidCiphertext", kms.DecryptInput{CiphertextBlob: flip(2 + 36 + 1), EncryptionContext: ec}, &invalid},
		{"TamperedVersionIsInvalidCiphertext", kms.DecryptInput{CiphertextBlob: flip(0), EncryptionContext: ec}, &invalid},
		{"TruncatedBlobIsInvalidCiphertext", kms.DecryptInput{CiphertextBlob: blob[:30], EncryptionContext: ec}, &invalid},
		{"GarbageIsInvalidCiphertext", kms.DecryptInput{CiphertextBlob: []byte("not a ciphertext"), EncryptionContext: ec}, &invalid},
		{"OtherKeyIDIsIncorrectKey", kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec, KeyId: aws.String(other)}, &incorrect},
		{"UnknownKeyIDIsNotFound", kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec, KeyId: aws.String("alias/missing")}, &notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			out, err := f.client.Decrypt(ctx, &in)
			if err == nil {
				t.Fatalf("Decrypt succeeded (%d bytes), want an error", len(out.Plaintext))
			}
			if !errors.As(err, tt.wantAs) {
				t.Fatalf("err = %v, want %T", err, tt.wantAs)
			}
		})
	}
}

func TestDescribeKeyAcceptsEveryKeyIDForm(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	for _, ref := range []string{f.id, f.arn, "alias/test", "arn:aws:kms:us-east-1:000000000000:alias/test"} {
		t.Run(ref, func(t *testing.T) {
			out, err := f.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
			if err != nil {
				t.Fatal(err)
			}
			m := out.KeyMetadata
			if got, want := aws.ToString(m.KeyId), f.id; got != want {
				t.Errorf("KeyId = %q, want %q", got, want)
			}
			if got, want := aws.ToString(m.Arn), f.arn; got != want {
				t.Errorf("Arn = %q, want %q", got, want)
			}
			if got, want := aws.ToString(m.AWSAccountId), DefaultAccount; got != want {
				t.Errorf("AWSAccountId = %q, want %q", got, want)
			}
			if !m.Enabled || m.KeyState != types.KeyStateEnabled || m.KeyUsage != types.KeyUsageTypeEncryptDecrypt || m.KeySpec != types.KeySpecSymmetricDefault {
				t.Errorf("metadata = %+v, want an enabled symmetric encrypt/decrypt key", m)
			}
			if m.CreationDate == nil || m.CreationDate.IsZero() {
				t.Error("CreationDate is missing")
			}
		})
	}
}

func TestUnknownKeyIsNotFound(t *testing.T) {
	f := mustFixture(t, WithRegion("eu-west-1"), WithAccount("111122223333"))
	ctx := context.Background()
	refs := []string{
		"00000000-0000-4000-8000-000000000000",
		"alias/missing",
		"arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-4000-8000-000000000000",
		"arn:aws:kms:us-east-1:111122223333:key/" + f.id, // other region
		"arn:aws:kms:eu-west-1:999999999999:key/" + f.id, // other account
	}
	for _, ref := range refs {
		t.Run("DescribeKey/"+ref, func(t *testing.T) {
			_, err := f.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
			var nf *types.NotFoundException
			if !errors.As(err, &nf) {
				t.Fatalf("err = %v, want NotFoundException", err)
			}
		})
		t.Run("GenerateDataKey/"+ref, func(t *testing.T) {
			_, err := f.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(ref), KeySpec: types.DataKeySpecAes256})
			var nf *types.NotFoundException
			if !errors.As(err, &nf) {
				t.Fatalf("err = %v, want NotFoundException", err)
			}
		})
	}
	t.Run("EncryptByOwnARNWorks", func(t *testing.T) {
		if _, err := f.client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(f.arn), Plaintext: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestGenerateDataKeyValidatesSize(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	tests := []struct {
		name string
		in   kms.GenerateDataKeyInput
	}{
		{"NeitherSpecNorBytes", kms.GenerateDataKeyInput{}},
		{"BothSpecAndBytes", kms.GenerateDataKeyInput{KeySpec: types.DataKeySpecAes256, NumberOfBytes: aws.Int32(32)}},
		{"ZeroBytes", kms.GenerateDataKeyInput{NumberOfBytes: aws.Int32(0)}},
		{"TooManyBytes", kms.GenerateDataKeyInput{NumberOfBytes: aws.Int32(1025)}},
		{"UnknownSpec", kms.GenerateDataKeyInput{KeySpec: "AES_512"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.KeyId = aws.String(f.arn)
			_, err := f.client.GenerateDataKey(ctx, &in)
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
				t.Fatalf("err = %v, want ValidationException", err)
			}
		})
	}
}

func TestWireErrors(t *testing.T) {
	f := mustFixture(t)
	tests := []struct {
		name       string
		method     string
		target     string
		body       string
		wantStatus int
		wantType   string
	}{
		{"UnknownOperationIsUnsupported", http.MethodPost, "TrentService.ScheduleKeyDeletion", `{}`, 400, "UnsupportedOperationException"},
		{"OtherServiceIsUnsupported", http.MethodPost, "DynamoDB_20120810.GetItem", `{}`, 400, "UnsupportedOperationException"},
		{"MissingTargetIsUnsupported", http.MethodPost, "", `{}`, 400, "UnsupportedOperationException"},
		{"BadJSONIsSerialization", http.MethodPost, "TrentService.Encrypt", `{"KeyId":`, 400, "SerializationException"},
		{"BadBase64IsSerialization", http.MethodPost, "TrentService.Decrypt", `{"CiphertextBlob":"!!!"}`, 400, "SerializationException"},
		{"GetIsRefused", http.MethodGet, "TrentService.DescribeKey", ``, 405, "UnsupportedOperationException"},
		{"DescribeKeyWorks", http.MethodPost, "TrentService.DescribeKey", `{"KeyId":"alias/test"}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, f.url+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", contentType)
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got, want := resp.StatusCode, tt.wantStatus; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if got, want := resp.Header.Get("Content-Type"), contentType; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			var body struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if got, want := body.Type, tt.wantType; got != want {
				t.Fatalf("__type = %q, want %q", got, want)
			}
			if tt.wantType != "" && body.Message == "" {
				t.Error("error has no message")
			}
		})
	}
}

func TestCreateKeyAliasRules(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateKey("alias/dup"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		alias string
	}{
		{"DuplicateAliasIsRefused", "dup"},
		{"AWSReservedAliasIsRefused", "alias/aws/kms"},
		{"AliasWithSpaceIsRefused", "my key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if arn, err := s.CreateKey(tt.alias); err == nil {
				t.Fatalf("CreateKey(%q) = %q, want an error", tt.alias, arn)
			}
		})
	}
	t.Run("EnsureKeyReusesAlias", func(t *testing.T) {
		a, err := s.EnsureKey("ensured")
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.EnsureKey("alias/ensured")
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatalf("EnsureKey gave %q then %q, want the same key", a, b)
		}
	})
	t.Run("KeyWithoutAlias", func(t *testing.T) {
		if _, err := s.CreateKey(""); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFilePersistsKeysAcrossServers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "kms.json")
	ctx := context.Background()
	ec := map[string]string{"purpose": "keyward-pepper"}

	first, err := New(WithFile(path))
	if err != nil {
		t.Fatal(err)
	}
	arn, err := first.EnsureKey("keyward-pepper")
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := first.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gen, err := MustClient(t, url).GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/keyward-pepper"), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Fatalf("file mode = %v, want %v", got, want)
	}

	second, err := New(WithFile(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("EnsureKeyFindsTheSameKey", func(t *testing.T) {
		again, err := second.EnsureKey("keyward-pepper")
		if err != nil {
			t.Fatal(err)
		}
		if again != arn {
			t.Fatalf("EnsureKey after restart = %q, want %q", again, arn)
		}
	})
	client := MustClient(t, MustStart(t, second))
	t.Run("DecryptAfterRestartReturnsPlaintext", func(t *testing.T) {
		dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: ec, KeyId: aws.String("alias/keyward-pepper")})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dec.Plaintext, gen.Plaintext) {
			t.Fatal("plaintext changed across restart")
		}
	})
	t.Run("NewKeysAreAppended", func(t *testing.T) {
		if _, err := second.CreateKey("another"); err != nil {
			t.Fatal(err)
		}
		third, err := New(WithFile(path))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(third.keys), 2; got != want {
			t.Fatalf("keys after reload = %d, want %d", got, want)
		}
	})
	t.Run("CorruptFileIsAnError", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := New(WithFile(bad)); err == nil {
			t.Fatal("New with a corrupt file succeeded")
		}
	})
}

func TestConcurrentRequestsAreSafe(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			if i%10 == 0 {
				if _, err := f.srv.CreateKey(""); err != nil {
					errs <- err
					return
				}
			}
			gen, err := f.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/test"), KeySpec: types.DataKeySpecAes256})
			if err != nil {
				errs <- err
				return
			}
			dec, err := f.client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob})
			if err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(dec.Plaintext, gen.Plaintext) {
				errs <- errors.New("round trip mismatch")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
