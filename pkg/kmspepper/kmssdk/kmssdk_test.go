package kmssdk_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/kmspepper/kmssdk"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// TestSDKClientAndFunctionClientShareThePepper: a data key the SDK client
// makes through the adapter (as the bootstrap does) is read by the
// functions' client, and the adapter passes the SDK's errors on.
func TestSDKClientAndFunctionClientShareThePepper(t *testing.T) {
	k := keywardtest.StartKMS(t)
	ctx := context.Background()
	sdk := kmssdk.New(k.Client)
	ec := kmspepper.EncryptionContext()

	gen, err := sdk.GenerateDataKey(ctx, &kmsclient.GenerateDataKeyInput{KeyID: k.KeyARN, KeySpec: kmsclient.KeySpecAES256, EncryptionContext: ec})
	if err != nil || len(gen.Plaintext) != 32 || gen.KeyID != k.KeyARN {
		t.Fatalf("GenerateDataKey: %v (key %q)", err, gen.KeyID)
	}
	for name, c := range map[string]kmspepper.KMS{"sdk": sdk, "functions": k.FunctionClient} {
		dec, err := c.Decrypt(ctx, &kmsclient.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: ec, KeyID: k.KeyARN})
		if err != nil || string(dec.Plaintext) != string(gen.Plaintext) || dec.KeyID != k.KeyARN {
			t.Fatalf("%s client: Decrypt = %v", name, err)
		}
	}
	gen64, err := sdk.GenerateDataKey(ctx, &kmsclient.GenerateDataKeyInput{KeyID: k.KeyARN, NumberOfBytes: 64})
	if err != nil || len(gen64.Plaintext) != 64 {
		t.Fatalf("GenerateDataKey of 64 bytes: %v", err)
	}
	_, err = sdk.Decrypt(ctx, &kmsclient.DecryptInput{CiphertextBlob: gen.CiphertextBlob})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidCiphertextException" {
		t.Fatalf("Decrypt without the context: err = %v, want InvalidCiphertextException", err)
	}
}
