package keywardtest

import (
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/workbench/localkms"

	"github.com/keyward/keyward/pkg/workbench/localaws"
)

// LocalKMS is a pkg/localkms server on a loopback port holding one key.
type LocalKMS struct {
	Client *kms.Client // the real SDK client, pointed at URL
	// FunctionClient is the KMS client the functions use (package
	// kmsclient), pointed at URL: what a hasher under test should use.
	FunctionClient *kmsclient.Client
	KeyARN         string // the key, alias "keyward"
	URL            string // the endpoint, for AWS_ENDPOINT_URL_KMS or KMSClient

	once sync.Once
	stop func() error
	err  error
}

// StartKMS starts a local KMS with one key, and fails tb if it cannot. It
// stops when tb finishes.
func StartKMS(tb testing.TB) *LocalKMS {
	tb.Helper()
	srv, err := localkms.New()
	if err != nil {
		tb.Fatalf("keywardtest: local KMS: %v", err)
	}
	keyARN, err := srv.CreateKey("keyward")
	if err != nil {
		tb.Fatalf("keywardtest: local KMS key: %v", err)
	}
	url, stop, err := srv.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatalf("keywardtest: start local KMS: %v", err)
	}
	k := &LocalKMS{Client: KMSClient(url), FunctionClient: FunctionKMS(url), KeyARN: keyARN, URL: url, stop: stop}
	tb.Cleanup(func() { _ = k.Stop() })
	return k
}

// Stop stops the server before the test ends, for tests of KMS going away.
// Only the first call stops it; later ones return what it returned.
func (k *LocalKMS) Stop() error {
	k.once.Do(func() { k.err = k.stop() })
	return k.err
}

// FunctionKMS is the KMS client the functions use (package kmsclient) for
// an endpoint at url, with static local credentials and optFns applied.
func FunctionKMS(url string, optFns ...func(*kmsclient.Options)) *kmsclient.Client {
	return kmsclient.New(kmsclient.Options{
		Region: localaws.Region, BaseEndpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}, optFns...)
}

// KMSClient is the real SDK client for a KMS endpoint at url, with static
// local credentials and optFns applied.
func KMSClient(url string, optFns ...func(*kms.Options)) *kms.Client {
	return kms.New(kms.Options{
		Region: localaws.Region, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}, optFns...)
}
