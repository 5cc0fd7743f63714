// Package gwflush makes revocation immediate: after a change that must stop
// working credentials at once — a revoke, a batch revoke, a rotation with no
// grace period, an edit of the allow-list or of the expiry — it asks API
// Gateway to flush the stage's authorizer cache (FlushStageAuthorizersCache),
// so the next request is authorized afresh, instead of the gateway serving
// its cached Allow for the rest of the cache TTL.
//
// The flush follows every call that may have made its change: one that
// succeeded, and one that failed without saying whether its write committed
// (internal, unavailable). Only a refusal (a 4xx code) is known to have
// changed nothing, and it does not flush.
//
// The stage is the one the admin request came through (its requestContext
// apiId and stage, put in the context by Wrap), else the fallback from the
// environment (API_ID, STAGE): a function cannot be given its own API's ID
// through the template without a circular dependency. A failed flush is
// logged, never returned, and bounded by DefaultTimeout: the change itself
// has been made.
//
// The endpoint is the SDK's business: AWS_ENDPOINT_URL_API_GATEWAY points the
// client at the local gateway emulator.
package gwflush

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/keyward/keyward/pkg/apikey"
)

// DefaultTimeout bounds one flush (the SDK's retries included), so a slow
// control plane delays the admin response by at most this much.
const DefaultTimeout = 3 * time.Second

// API is the part of the API Gateway client the Flusher uses;
// *apigateway.Client satisfies it.
type API interface {
	FlushStageAuthorizersCache(ctx context.Context, in *apigateway.FlushStageAuthorizersCacheInput, optFns ...func(*apigateway.Options)) (*apigateway.FlushStageAuthorizersCacheOutput, error)
}

// Stage names a REST API stage.
type Stage struct {
	APIID string
	Name  string
}

func (s Stage) complete() bool { return s.APIID != "" && s.Name != "" }

// StageFromEnv reads the fallback stage through getenv: API_ID and STAGE.
func StageFromEnv(getenv func(string) string) Stage {
	return Stage{APIID: strings.TrimSpace(getenv("API_ID")), Name: strings.TrimSpace(getenv("STAGE"))}
}

type stageKey struct{}

// WithStage returns ctx carrying the stage a request came through.
func WithStage(ctx context.Context, s Stage) context.Context {
	return context.WithValue(ctx, stageKey{}, s)
}

// StageOf returns the stage WithStage put in ctx.
func StageOf(ctx context.Context) (Stage, bool) {
	s, ok := ctx.Value(stageKey{}).(Stage)
	return s, ok && s.complete()
}

// Flusher flushes a stage's authorizer cache.
type Flusher struct {
	api      API
	fallback Stage
	log      *slog.Logger
	timeout  time.Duration
}

// New returns a Flusher calling api, using fallback when a request's context
// names no stage, and logging to log (slog.Default when nil).
func New(api API, fallback Stage, log *slog.Logger) *Flusher {
	if log == nil {
		log = slog.Default()
	}
	return &Flusher{api: api, fallback: fallback, log: log, timeout: DefaultTimeout}
}

// ProxyHandler is a Lambda handler of API Gateway proxy events.
type ProxyHandler func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Wrap returns h with the request's API ID and stage in its context, so a
// flush after a change targets the stage the change came through.
func (f *Flusher) Wrap(h ProxyHandler) ProxyHandler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		s := Stage{APIID: req.RequestContext.APIID, Name: req.RequestContext.Stage}
		if s.complete() {
			ctx = WithStage(ctx, s)
		}
		return h(ctx, req)
	}
}

// Flush clears the authorizer cache of the context's stage (else the
// fallback). why says which change asked for it. Failures are logged once
// and otherwise ignored; Flush reports whether the flush was made.
func (f *Flusher) Flush(ctx context.Context, why string) bool {
	s, ok := StageOf(ctx)
	if !ok {
		s = f.fallback
	}
	if !s.complete() {
		f.log.LogAttrs(ctx, slog.LevelError, "authorizer cache not flushed",
			slog.String("reason", why), slog.String("error", "no API ID and stage: neither the request context nor API_ID/STAGE name them"))
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout)
	defer cancel()
	_, err := f.api.FlushStageAuthorizersCache(ctx, &apigateway.FlushStageAuthorizersCacheInput{
		RestApiId: aws.String(s.APIID), StageName: aws.String(s.Name),
	})
	if err != nil {
		f.log.LogAttrs(ctx, slog.LevelError, "authorizer cache not flushed",
			slog.String("reason", why), slog.String("apiId", s.APIID), slog.String("stage", s.Name), slog.String("error", err.Error()))
		return false
	}
	f.log.LogAttrs(ctx, slog.LevelInfo, "authorizer cache flushed",
		slog.String("reason", why), slog.String("apiId", s.APIID), slog.String("stage", s.Name))
	return true
}

// Revoker revokes keys; *apikey.Service satisfies it, and so does what
// (*Flusher).Revoker returns (it is adminapi.Revoker).
type Revoker interface {
	Revoke(ctx context.Context, c apikey.Caller, id string) (*apikey.Key, error)
	BatchRevoke(ctx context.Context, c apikey.Caller, ids []string) ([]apikey.BatchResult, error)
}

// Editor edits and rotates keys; *apikey.Service satisfies it, and so does
// what (*Flusher).Editor returns (it is adminapi.Editor).
type Editor interface {
	Update(ctx context.Context, c apikey.Caller, id string, in apikey.PatchInput, ifMatch *int64) (*apikey.Key, error)
	Rotate(ctx context.Context, c apikey.Caller, id string, in apikey.RotateInput, ifMatch *int64) (*apikey.Issued, error)
}

var (
	_ Revoker = (*apikey.Service)(nil)
	_ Editor  = (*apikey.Service)(nil)
)

// Revoker returns next with a flush after every revoke that may have
// revoked (see mayHaveChanged), and after a batch revoke in which any ID may
// have been revoked: at most one flush per call.
func (f *Flusher) Revoker(next Revoker) Revoker { return revoker{next: next, f: f} }

// Editor returns next with a flush after a rotation with no grace period,
// and after an edit that sets the allow-list or the expiry, when the call
// may have made its change (an expiry can only be made earlier; an
// allow-list change is flushed whether it narrows or widens, which costs one
// flush and is always safe).
func (f *Flusher) Editor(next Editor) Editor { return editor{next: next, f: f} }

// mayHaveChanged reports whether a call that returned err may have made its
// change: it succeeded, or it failed without saying whether its write
// committed (internal: a lost answer, a timeout; unavailable: throttled after
// attempts that may have been processed). A refusal changed nothing.
func mayHaveChanged(err error) bool {
	return err == nil || mayHaveChangedCode(apikey.ErrorCode(err))
}

func mayHaveChangedCode(code apikey.Code) bool {
	return code == apikey.ECodeInternal || code == apikey.ECodeUnavailable
}

type revoker struct {
	next Revoker
	f    *Flusher
}

func (r revoker) Revoke(ctx context.Context, c apikey.Caller, id string) (*apikey.Key, error) {
	k, err := r.next.Revoke(ctx, c, id)
	if mayHaveChanged(err) {
		r.f.Flush(ctx, "revoke")
	}
	return k, err
}

func (r revoker) BatchRevoke(ctx context.Context, c apikey.Caller, ids []string) ([]apikey.BatchResult, error) {
	res, err := r.next.BatchRevoke(ctx, c, ids)
	if err != nil {
		if mayHaveChanged(err) {
			r.f.Flush(ctx, "batch-revoke")
		}
		return res, err
	}
	for _, x := range res {
		if x.Status == string(apikey.StatusRevoked) || x.Error != nil && mayHaveChangedCode(apikey.Code(x.Error.Code)) {
			r.f.Flush(ctx, "batch-revoke")
			break
		}
	}
	return res, err
}

type editor struct {
	next Editor
	f    *Flusher
}

func (e editor) Update(ctx context.Context, c apikey.Caller, id string, in apikey.PatchInput, ifMatch *int64) (*apikey.Key, error) {
	k, err := e.next.Update(ctx, c, id, in, ifMatch)
	if (in.AllowList != nil || in.ExpiresAt != nil) && mayHaveChanged(err) {
		e.f.Flush(ctx, "edit")
	}
	return k, err
}

func (e editor) Rotate(ctx context.Context, c apikey.Caller, id string, in apikey.RotateInput, ifMatch *int64) (*apikey.Issued, error) {
	k, err := e.next.Rotate(ctx, c, id, in, ifMatch)
	if (in.GracePeriodSeconds == nil || *in.GracePeriodSeconds == 0) && mayHaveChanged(err) {
		e.f.Flush(ctx, "rotate")
	}
	return k, err
}
