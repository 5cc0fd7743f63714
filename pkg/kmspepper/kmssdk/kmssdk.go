// Package kmssdk lets tools that already hold the AWS SDK's KMS client
// (service/kms: the bootstrap, the local stack, tests) use it as a
// kmspepper.KMS. The Lambda functions use package kmsclient instead, so
// their binaries do not link the SDK's client.
package kmssdk

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
)

// Client is an SDK KMS client with kmsclient's method set.
type Client struct {
	// SDK is the wrapped client.
	SDK *kms.Client
}

var _ kmspepper.KMS = Client{}

// New wraps c.
func New(c *kms.Client) Client { return Client{SDK: c} }

// Decrypt calls the SDK's Decrypt; errors are the SDK's, unchanged.
func (c Client) Decrypt(ctx context.Context, in *kmsclient.DecryptInput) (*kmsclient.DecryptOutput, error) {
	sdkIn := &kms.DecryptInput{CiphertextBlob: in.CiphertextBlob, EncryptionContext: in.EncryptionContext}
	if in.KeyID != "" {
		sdkIn.KeyId = aws.String(in.KeyID)
	}
	out, err := c.SDK.Decrypt(ctx, sdkIn)
	if err != nil {
		return nil, err
	}
	return &kmsclient.DecryptOutput{Plaintext: out.Plaintext, KeyID: aws.ToString(out.KeyId)}, nil
}

// GenerateDataKey calls the SDK's GenerateDataKey; errors are the SDK's,
// unchanged.
func (c Client) GenerateDataKey(ctx context.Context, in *kmsclient.GenerateDataKeyInput) (*kmsclient.GenerateDataKeyOutput, error) {
	sdkIn := &kms.GenerateDataKeyInput{
		KeyId: aws.String(in.KeyID), KeySpec: types.DataKeySpec(in.KeySpec), EncryptionContext: in.EncryptionContext,
	}
	if in.NumberOfBytes != 0 {
		sdkIn.NumberOfBytes = aws.Int32(int32(in.NumberOfBytes))
	}
	out, err := c.SDK.GenerateDataKey(ctx, sdkIn)
	if err != nil {
		return nil, err
	}
	return &kmsclient.GenerateDataKeyOutput{
		CiphertextBlob: out.CiphertextBlob, Plaintext: out.Plaintext, KeyID: aws.ToString(out.KeyId),
	}, nil
}
