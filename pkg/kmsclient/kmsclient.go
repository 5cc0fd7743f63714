// Package kmsclient is a small AWS KMS client for the two calls keyward's
// Lambda functions make: Decrypt (every function that hashes or verifies
// keys, once per pepper version per container) and GenerateDataKey (only
// where a first pepper is created).
//
// It exists for binary size. The SDK's client (service/kms) links every KMS
// operation's schema, types and endpoint rules through package init even for
// one call: about 0.4 MiB of every function binary, which must stay under
// 8 MiB. This package speaks the same wire protocol (AWS JSON 1.1: POST /,
// X-Amz-Target TrentService.<Operation>, base64 blobs) on the SDK's own
// parts the functions already link through their DynamoDB client: the
// aws.Config's credentials and region, the SigV4 signer (service "kms"), the
// HTTP client and the standard retryer. Errors are what the SDK returns for
// the same failure — a *smithy.OperationError wrapping an
// *awshttp.ResponseError wrapping a smithy.APIError whose ErrorCode is the
// KMS exception name — so errors.As(err, &smithy.APIError) checks and the
// retryer's decisions (throttling, 5xx and connection errors are retried)
// match the SDK's. The SDK's typed exceptions (types.InvalidCiphertextException
// …) are not produced: compare ErrorCode() instead.
//
// Left out, as keyward's functions do not need them: the SDK's clock-skew
// correction (Lambda's clock is synchronised), dual-stack endpoint
// resolution (set an endpoint URL instead), endpoint discovery, request
// compression and the SDK's user agent and invocation-ID headers.
//
// Plaintexts (Decrypt's and GenerateDataKey's) are never logged and never
// put in an error: a response that cannot be decoded is reported without
// its body.
//
// Tools that already use the SDK's client can keep it: package
// kmspepper/kmssdk gives it this client's method set.
package kmsclient

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// ServiceID is the SDK's service ID for KMS: the name in operation errors
// and in the AWS_ENDPOINT_URL_KMS variable.
const ServiceID = "KMS"

// signingName is the SigV4 service name of KMS.
const signingName = "kms"

// Options configure a Client. NewFromConfig fills them from an aws.Config;
// tests and tools may change them through its optFns.
type Options struct {
	// Region is the AWS region the requests are signed for and, unless
	// BaseEndpoint is set, sent to.
	Region string
	// Credentials sign every request (required).
	Credentials aws.CredentialsProvider
	// BaseEndpoint, if set, is the endpoint URL used instead of the regional
	// one (a local KMS, a VPC endpoint).
	BaseEndpoint string
	// UseFIPSEndpoint sends requests to kms-fips.<region>.<suffix>; ignored
	// when BaseEndpoint is set.
	UseFIPSEndpoint bool
	// HTTPClient sends the requests (default: the SDK's default client).
	HTTPClient aws.HTTPClient
	// Retryer decides which failures are retried and how long to wait
	// (default: the SDK's standard retryer, 3 attempts).
	Retryer aws.Retryer
	// RetryMaxAttempts, if above 0, caps Retryer's attempts, as the SDK
	// clients' option of that name does.
	RetryMaxAttempts int
}

// Client calls KMS Decrypt and GenerateDataKey. It is safe for concurrent use.
type Client struct {
	opts     Options
	endpoint string // resolved base URL, no trailing slash
	endErr   error  // why no endpoint could be resolved, reported on each call
	signer   *v4.Signer
	now      func() time.Time
}

// New returns a client with opts, after applying optFns.
func New(opts Options, optFns ...func(*Options)) *Client {
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = awshttp.NewBuildableClient()
	}
	if opts.Retryer == nil {
		opts.Retryer = retry.NewStandard()
	}
	if opts.RetryMaxAttempts > 0 {
		opts.Retryer = retry.AddWithMaxAttempts(opts.Retryer, opts.RetryMaxAttempts)
	}
	c := &Client{opts: opts, signer: v4.NewSigner(), now: time.Now}
	c.endpoint, c.endErr = resolveEndpoint(opts)
	return c
}

// NewFromConfig returns a client configured as the SDK's kms.NewFromConfig
// would be from cfg: its region, credentials, HTTP client and retryer
// (cfg.Retryer, else the standard one; cfg.RetryMaxAttempts caps either),
// and its endpoint settings — a KMS endpoint from cfg.ConfigSources (the
// AWS_ENDPOINT_URL_KMS variable, as pkg/awsenv and the SDK's config package
// provide it), else cfg.BaseEndpoint (AWS_ENDPOINT_URL), else the regional
// endpoint, FIPS if a config source asks for it (AWS_USE_FIPS_ENDPOINT).
func NewFromConfig(cfg aws.Config, optFns ...func(*Options)) *Client {
	opts := Options{Region: cfg.Region, Credentials: cfg.Credentials, HTTPClient: cfg.HTTPClient, RetryMaxAttempts: cfg.RetryMaxAttempts}
	if cfg.Retryer != nil {
		opts.Retryer = cfg.Retryer()
	}
	if cfg.BaseEndpoint != nil {
		opts.BaseEndpoint = *cfg.BaseEndpoint
	}
	if v, ok := serviceEndpoint(cfg.ConfigSources); ok {
		opts.BaseEndpoint = v
	}
	opts.UseFIPSEndpoint = useFIPS(cfg.ConfigSources)
	return New(opts, optFns...)
}

// Endpoint is the base URL requests are sent to, or an error saying why
// none could be resolved.
func (c *Client) Endpoint() (string, error) { return c.endpoint, c.endErr }

// DecryptInput is what Decrypt sends: the fields of KMS's DecryptRequest
// keyward uses.
type DecryptInput struct {
	// CiphertextBlob is the ciphertext to decrypt (required).
	CiphertextBlob []byte
	// EncryptionContext must equal the one the ciphertext was made with.
	EncryptionContext map[string]string
	// KeyID, if set, is the key (ID, ARN, alias name or alias ARN) KMS must
	// find the ciphertext was made under.
	KeyID string
}

// DecryptOutput is what Decrypt returns.
type DecryptOutput struct {
	// Plaintext is the decrypted data. Never log it.
	Plaintext []byte
	// KeyID is the ARN of the key that decrypted the ciphertext.
	KeyID string
}

// GenerateDataKeyInput is what GenerateDataKey sends: the fields of KMS's
// GenerateDataKeyRequest keyward uses. Exactly one of KeySpec and
// NumberOfBytes must be set.
type GenerateDataKeyInput struct {
	// KeyID is the key (ID, ARN, alias name or alias ARN) that encrypts the
	// data key (required).
	KeyID string
	// KeySpec is AES_256 or AES_128.
	KeySpec string
	// NumberOfBytes is the data key's length, 1 to 1024.
	NumberOfBytes int
	// EncryptionContext is bound to the ciphertext; Decrypt needs it again.
	EncryptionContext map[string]string
}

// KeySpecAES256 is the KeySpec of a 32-byte data key.
const KeySpecAES256 = "AES_256"

// GenerateDataKeyOutput is what GenerateDataKey returns.
type GenerateDataKeyOutput struct {
	// CiphertextBlob is the data key encrypted under the KMS key.
	CiphertextBlob []byte
	// Plaintext is the data key. Never log or store it.
	Plaintext []byte
	// KeyID is the ARN of the KMS key that encrypted the data key.
	KeyID string
}

// The request and response bodies, with KMS's member names.
type (
	decryptRequest struct {
		CiphertextBlob    []byte
		EncryptionContext map[string]string `json:",omitempty"`
		KeyID             string            `json:"KeyId,omitempty"`
	}
	decryptResponse struct {
		Plaintext []byte
		KeyID     string `json:"KeyId"`
	}
	generateDataKeyRequest struct {
		KeyID             string            `json:"KeyId"`
		KeySpec           string            `json:",omitempty"`
		NumberOfBytes     int               `json:",omitempty"`
		EncryptionContext map[string]string `json:",omitempty"`
	}
	generateDataKeyResponse struct {
		CiphertextBlob []byte
		Plaintext      []byte
		KeyID          string `json:"KeyId"`
	}
)

// Decrypt calls KMS Decrypt. Errors are as the SDK's: ErrorCode() of the
// smithy.APIError inside is the KMS exception (InvalidCiphertextException,
// IncorrectKeyException, NotFoundException, AccessDeniedException,
// ThrottlingException after the retries …).
func (c *Client) Decrypt(ctx context.Context, in *DecryptInput) (*DecryptOutput, error) {
	var resp decryptResponse
	req := decryptRequest{CiphertextBlob: in.CiphertextBlob, EncryptionContext: in.EncryptionContext, KeyID: in.KeyID}
	if err := c.call(ctx, "Decrypt", req, &resp); err != nil {
		return nil, err
	}
	return &DecryptOutput{Plaintext: resp.Plaintext, KeyID: resp.KeyID}, nil
}

// GenerateDataKey calls KMS GenerateDataKey. Errors are as Decrypt's.
func (c *Client) GenerateDataKey(ctx context.Context, in *GenerateDataKeyInput) (*GenerateDataKeyOutput, error) {
	var resp generateDataKeyResponse
	req := generateDataKeyRequest{KeyID: in.KeyID, KeySpec: in.KeySpec, NumberOfBytes: in.NumberOfBytes, EncryptionContext: in.EncryptionContext}
	if err := c.call(ctx, "GenerateDataKey", req, &resp); err != nil {
		return nil, err
	}
	return &GenerateDataKeyOutput{CiphertextBlob: resp.CiphertextBlob, Plaintext: resp.Plaintext, KeyID: resp.KeyID}, nil
}
