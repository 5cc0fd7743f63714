package kmsclient_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/keyward/keyward/pkg/kmsclient"
)

// recorded is one request as the server saw it.
type recorded struct {
	header http.Header
	method string
	path   string
	host   string
	body   []byte
}

// server answers each request with the next of its answers (the last one
// repeats) and records what it was sent.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	answers []func(http.ResponseWriter)
}

func newServer(t *testing.T, answers ...func(http.ResponseWriter)) *server {
	s := &server{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, recorded{header: r.Header.Clone(), method: r.Method, path: r.URL.Path, host: r.Host, body: body})
		answer := s.answers[min(n, len(s.answers)-1)]
		s.mu.Unlock()
		answer(w)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func reply(status int, body string, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "req-1")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// hangUp closes the connection without an answer: a transport error.
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

var creds = credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret-key", "session-token")

// fastRetries is the standard retryer (what is retried, 3 attempts) without
// its backoff or retry quota, so tests do not wait.
func fastRetries() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.RateLimiter = ratelimit.None
	})
}

func newClient(url string, optFns ...func(*kmsclient.Options)) *kmsclient.Client {
	return kmsclient.New(kmsclient.Options{Region: "eu-west-1", Credentials: creds, BaseEndpoint: url, Retryer: fastRetries()}, optFns...)
}

const (
	plaintext  = "0123456789abcdef0123456789abcdef" // a data key: never in an error
	ciphertext = "ciphertext-blob"
	keyARN     = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func b64(s string) string {
	b, _ := json.Marshal([]byte(s))
	return strings.Trim(string(b), `"`)
}

func TestDecryptSendsKMSJSONAndDecodesTheAnswer(t *testing.T) {
	srv := newServer(t, reply(200, `{"Plaintext":"`+b64(plaintext)+`","KeyId":"`+keyARN+`","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`))
	out, err := newClient(srv.URL).Decrypt(context.Background(), &kmsclient.DecryptInput{
		CiphertextBlob: []byte(ciphertext), EncryptionContext: map[string]string{"purpose": "p"}, KeyID: "alias/k",
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Plaintext) != plaintext || out.KeyID != keyARN {
		t.Fatalf("out = %q, %q", out.Plaintext, out.KeyID)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	checkShape(t, r, "TrentService.Decrypt")
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"CiphertextBlob": b64(ciphertext), "EncryptionContext": map[string]any{"purpose": "p"}, "KeyId": "alias/k"}
	if got, want := mustJSON(t, body), mustJSON(t, want); got != want {
		t.Fatalf("body = %s, want %s", got, want)
	}
	checkSignature(t, srv.URL, r)
}

func TestGenerateDataKeySendsKeySpecOrNumberOfBytes(t *testing.T) {
	answer := `{"CiphertextBlob":"` + b64(ciphertext) + `","Plaintext":"` + b64(plaintext) + `","KeyId":"` + keyARN + `"}`
	srv := newServer(t, reply(200, answer))
	c := newClient(srv.URL)
	ctx := context.Background()
	out, err := c.GenerateDataKey(ctx, &kmsclient.GenerateDataKeyInput{KeyID: "alias/k", KeySpec: kmsclient.KeySpecAES256, EncryptionContext: map[string]string{"purpose": "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Plaintext) != plaintext || string(out.CiphertextBlob) != ciphertext || out.KeyID != keyARN {
		t.Fatalf("out = %+v", out)
	}
	if _, err := c.GenerateDataKey(ctx, &kmsclient.GenerateDataKeyInput{KeyID: "alias/k", NumberOfBytes: 64}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	for i, want := range []string{
		`{"EncryptionContext":{"purpose":"p"},"KeyId":"alias/k","KeySpec":"AES_256"}`,
		`{"KeyId":"alias/k","NumberOfBytes":64}`,
	} {
		checkShape(t, reqs[i], "TrentService.GenerateDataKey")
		var body map[string]any
		if err := json.Unmarshal(reqs[i].body, &body); err != nil {
			t.Fatal(err)
		}
		if got := mustJSON(t, body); got != want {
			t.Errorf("request %d body = %s, want %s", i, got, want)
		}
		checkSignature(t, srv.URL, reqs[i])
	}
}

func checkShape(t *testing.T, r recorded, target string) {
	t.Helper()
	if r.method != http.MethodPost || r.path != "/" {
		t.Errorf("%s %s, want POST /", r.method, r.path)
	}
	for h, want := range map[string]string{
		"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, "X-Amz-Security-Token": "session-token",
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	auth := r.header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/kms/aws4_request") {
		t.Errorf("Authorization = %q, want a SigV4 credential for eu-west-1/kms", auth)
	}
}

// checkSignature verifies the request's SigV4 signature as KMS would:
// it signs again what the request says it signed, at its X-Amz-Date.
func checkSignature(t *testing.T, url string, r recorded) {
	t.Helper()
	auth := r.header.Get("Authorization")
	_, signed, ok := strings.Cut(auth, "SignedHeaders=")
	if !ok {
		t.Fatalf("Authorization = %q", auth)
	}
	signed, _, _ = strings.Cut(signed, ",")
	at, err := time.Parse("20060102T150405Z", r.header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("X-Amz-Date: %v", err)
	}
	req, _ := http.NewRequest(r.method, url+r.path, bytes.NewReader(r.body))
	req.Host = r.host
	for _, h := range strings.Split(signed, ";") {
		if h != "host" && h != "x-amz-date" && h != "x-amz-security-token" && h != "content-length" {
			req.Header.Set(h, r.header.Get(h))
		}
	}
	c, _ := creds.Retrieve(context.Background())
	sum := sha256.Sum256(r.body)
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hex.EncodeToString(sum[:]), "kms", "eu-west-1", at); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != auth {
		t.Fatalf("signature does not verify:\n got  %s\n want %s", auth, got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestErrorsAreTheSDKsAndRetriedAsItRetries(t *testing.T) {
	ok := reply(200, `{"Plaintext":"`+b64(plaintext)+`","KeyId":"`+keyARN+`"}`)
	cases := []struct {
		name     string
		answers  []func(http.ResponseWriter)
		wantCode string // "" for success, "-" for an error without a code
		status   int
		requests int
	}{
		{"InvalidCiphertextIsNotRetried", []func(http.ResponseWriter){reply(400, `{"__type":"InvalidCiphertextException","message":"bad"}`)}, "InvalidCiphertextException", 400, 1},
		{"NamespacedTypeIsTrimmed", []func(http.ResponseWriter){reply(400, `{"__type":"com.amazonaws.kms#NotFoundException","message":"no key"}`)}, "NotFoundException", 400, 1},
		{"ErrorTypeHeaderWins", []func(http.ResponseWriter){reply(400, `{"__type":"Other","message":"x"}`, "X-Amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/")}, "AccessDeniedException", 400, 1},
		{"ThrottlingIsRetriedThreeTimes", []func(http.ResponseWriter){reply(400, `{"__type":"ThrottlingException","message":"slow down"}`)}, "ThrottlingException", 400, 3},
		{"ServerErrorIsRetried", []func(http.ResponseWriter){reply(500, `{"__type":"KMSInternalException","message":"oops"}`), ok}, "", 200, 2},
		{"EmptyAnswerIsAnUnknownError", []func(http.ResponseWriter){reply(400, ``)}, "UnknownError", 400, 1},
		{"ProxyPageIsRetriedBy5xx", []func(http.ResponseWriter){reply(502, `<html>bad gateway</html>`)}, "-", 502, 3},
		{"DroppedConnectionIsRetried", []func(http.ResponseWriter){hangUp, ok}, "", 200, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.answers...)
			_, err := newClient(srv.URL).Decrypt(context.Background(), &kmsclient.DecryptInput{CiphertextBlob: []byte(ciphertext)})
			if n := len(srv.requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			if tc.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var api smithy.APIError
			if isAPI := errors.As(err, &api); tc.wantCode == "-" && isAPI || tc.wantCode != "-" && (!isAPI || api.ErrorCode() != tc.wantCode) {
				t.Fatalf("err = %v, want API error %s", err, tc.wantCode)
			}
			var op *smithy.OperationError
			if !errors.As(err, &op) || op.Service() != "KMS" || op.Operation() != "Decrypt" {
				t.Fatalf("err = %v, want an operation error of KMS Decrypt", err)
			}
			var status interface{ HTTPStatusCode() int }
			if !errors.As(err, &status) || status.HTTPStatusCode() != tc.status {
				t.Fatalf("err = %v, want HTTP status %d", err, tc.status)
			}
		})
	}
}

// TestErrorsMatchTheSDKClient sends the same failing calls through the SDK's
// client: same exception code, same number of attempts.
func TestErrorsMatchTheSDKClient(t *testing.T) {
	for _, answer := range []func(http.ResponseWriter){
		reply(400, `{"__type":"InvalidCiphertextException","message":"bad"}`),
		reply(400, `{"__type":"ThrottlingException","message":"slow down"}`),
		reply(503, `{"__type":"DependencyTimeoutException","message":"later"}`),
		reply(500, `not json`),
		hangUp,
	} {
		ours, sdks := newServer(t, answer), newServer(t, answer)
		_, errOurs := newClient(ours.URL).Decrypt(context.Background(), &kmsclient.DecryptInput{CiphertextBlob: []byte(ciphertext)})
		sdk := kms.New(kms.Options{Region: "eu-west-1", Credentials: creds, BaseEndpoint: aws.String(sdks.URL), Retryer: fastRetries()})
		_, errSDK := sdk.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: []byte(ciphertext)})
		if a, b := len(ours.requests()), len(sdks.requests()); a != b {
			t.Errorf("%v: %d attempts, the SDK makes %d (%v)", errOurs, a, b, errSDK)
		}
		var a, b smithy.APIError
		if errors.As(errOurs, &a) != errors.As(errSDK, &b) || (a != nil && b != nil && a.ErrorCode() != b.ErrorCode()) {
			t.Errorf("error %v, the SDK's %v", errOurs, errSDK)
		}
		if o, s := ours.requests()[0], sdks.requests()[0]; o.header.Get("X-Amz-Target") != s.header.Get("X-Amz-Target") ||
			o.header.Get("Content-Type") != s.header.Get("Content-Type") || !bytes.Equal(o.body, s.body) {
			t.Errorf("request differs from the SDK's: %s %q vs %s %q", o.header.Get("X-Amz-Target"), o.body, s.header.Get("X-Amz-Target"), s.body)
		}
	}
}

func TestPlaintextIsNeverInAnError(t *testing.T) {
	// A successful answer cut short: its text holds the plaintext.
	srv := newServer(t, reply(200, `{"Plaintext":"`+plaintext+`"`))
	_, err := newClient(srv.URL).Decrypt(context.Background(), &kmsclient.DecryptInput{CiphertextBlob: []byte(ciphertext)})
	if err == nil {
		t.Fatal("a truncated answer decoded")
	}
	if strings.Contains(err.Error(), plaintext) || strings.Contains(err.Error(), plaintext[:8]) {
		t.Fatalf("error quotes the answer: %v", err)
	}
}

func TestCanceledContextStopsRetries(t *testing.T) {
	srv := newServer(t, reply(500, `{"__type":"KMSInternalException"}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newClient(srv.URL).Decrypt(ctx, &kmsclient.DecryptInput{CiphertextBlob: []byte(ciphertext)})
	if !errors.Is(err, context.Canceled) || len(srv.requests()) != 0 {
		t.Fatalf("err = %v after %d requests, want context.Canceled and none", err, len(srv.requests()))
	}
}

func TestRetryMaxAttemptsCapsTheRetryer(t *testing.T) {
	srv := newServer(t, reply(500, `{"__type":"KMSInternalException"}`))
	_, err := newClient(srv.URL, func(o *kmsclient.Options) { o.RetryMaxAttempts = 1 }).Decrypt(context.Background(), &kmsclient.DecryptInput{CiphertextBlob: []byte(ciphertext)})
	if err == nil || len(srv.requests()) != 1 {
		t.Fatalf("err = %v after %d requests, want an error after 1", err, len(srv.requests()))
	}
}
