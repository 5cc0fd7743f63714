// Package gwflush makes revocation and expiry immediate on every API that
// uses keyward's authorizer. API Gateway caches the authorizer's answers
// per stage for the stage's TTL; a change that must stop a credential — a
// revoke, a batch revoke, a rotation with no grace period, an allow-list
// change, an earlier expiry — and the moment a key expires or a grace
// period ends, flush the authorizer cache of every stage the authorizer has
// recorded (FlushStageAuthorizersCache for a REST API, ResetAuthorizersCache
// for an HTTP API), so the next request
// is authorized afresh instead of being served a cached Allow.
//
// The flush is driven by the keys table's stream and by a schedule (see
// Everywhere), never by the admin request itself: only a committed write
// reaches the stream, a failed flush is retried by the event source and
// shows in the flush function's errors, and an admin response never waits
// on API Gateway's control plane.
//
// The endpoint is the SDK's business: AWS_ENDPOINT_URL_API_GATEWAY points the
// client at the local gateway emulator.
package gwflush

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
)

// API is the part of the API Gateway (REST APIs) client the flusher uses;
// *apigateway.Client satisfies it.
type API interface {
	FlushStageAuthorizersCache(ctx context.Context, in *apigateway.FlushStageAuthorizersCacheInput, optFns ...func(*apigateway.Options)) (*apigateway.FlushStageAuthorizersCacheOutput, error)
}

// HTTPAPI is the part of the API Gateway v2 (HTTP APIs) client the flusher
// uses; *apigatewayv2.Client satisfies it.
type HTTPAPI interface {
	ResetAuthorizersCache(ctx context.Context, in *apigatewayv2.ResetAuthorizersCacheInput, optFns ...func(*apigatewayv2.Options)) (*apigatewayv2.ResetAuthorizersCacheOutput, error)
}
