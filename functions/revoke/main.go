// Command revoke is the revoke Lambda function: it serves DELETE /v1/keys/{keyId} and POST /v1/keys/batch-revoke.
// The authorizer caches are flushed from the keys table's stream (FlushFunction, pkg/gwflush). Revoking
// hashes nothing, so the function links no KMS client and has no KMS
// permission: its service's hasher refuses every call.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
)

func main() {
	base := awsenv.Must(awsenv.LoadBase(os.Getenv))
	s := awsenv.Must(awsenv.ReadSettings(os.Getenv))
	store := dynamostore.New(dynamodb.NewFromConfig(base.AWS), s.Table)
	svc := apikey.NewService(store, noPepper{}, nil, s.Service)
	router := apigw.NewRouter(base.Logger, adminapi.RevokeRoutes(svc)...)
	lambda.Start(router.Handle)
}

// noPepper is the hasher of a function that never hashes: any call is an
// internal error (a generic 500), never a verdict.
type noPepper struct{}

var errNoPepper = errors.New("revoke: the revoke function has no pepper")

func (noPepper) Hash(context.Context, []byte) (apikey.Hash, error) { return apikey.Hash{}, errNoPepper }

func (noPepper) Verify(context.Context, []byte, apikey.Hash) (bool, error) { return false, errNoPepper }

func (noPepper) MAC(context.Context, string, []byte) ([]byte, error) { return nil, errNoPepper }
