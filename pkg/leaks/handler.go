package leaks

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/time/rate"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
)

// Limits of a report.
const (
	// MaxBodyBytes bounds a report's body (413 above it).
	MaxBodyBytes = 64 << 10
	// MaxTokens bounds the tokens of one report (400 above it).
	MaxTokens = 100
)

// The headers GitHub signs its reports with.
const (
	HeaderKeyID     = "Github-Public-Key-Identifier"
	HeaderSignature = "Github-Public-Key-Signature"
)

// Reporter checks a reported token and applies the leak action;
// *apikey.Service satisfies it.
type Reporter interface {
	ReportLeak(ctx context.Context, token, url, source string) (apikey.LeakOutcome, error)
}

// Flusher flushes the authorizer caches after a revocation (*gwflush.Flusher).
type Flusher interface {
	Flush(ctx context.Context, why string) bool
}

// Match is one token of a report.
type Match struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// Label is the answer for one token: the hex SHA-256 of the token (never the
// token itself), its type as reported, and true_positive or false_positive.
type Label struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

// Handler serves POST /v1/leaks.
type Handler struct {
	keys  KeySource
	svc   Reporter
	flush Flusher
	limit *rate.Limiter
	log   *slog.Logger
}

// New returns a Handler verifying reports against keys, applying them
// through svc, flushing through flush (nil: none) and accepting at most
// perSecond reports a second per container (bursts of twice that).
func New(keys KeySource, svc Reporter, flush Flusher, perSecond float64, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{keys: keys, svc: svc, flush: flush, limit: rate.NewLimiter(rate.Limit(perSecond), max(1, int(2*perSecond))), log: log}
}

// Handle serves one API Gateway proxy event. An unsigned or mis-signed
// report is 401 and changes nothing; a body over MaxBodyBytes is 413; too
// many reports a second are 429; a malformed body is 400 naming the field.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	resp, err := h.handle(ctx, req)
	if err != nil {
		if e, ok := apikey.AsError(err); !ok || e.Code == apikey.ECodeInternal {
			h.log.LogAttrs(ctx, slog.LevelError, "leak report failed", slog.String("requestId", req.RequestContext.RequestID), slog.String("error", err.Error()))
		}
		return apigw.ErrorResponse(err), nil
	}
	return resp, nil
}

func (h *Handler) handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	if req.HTTPMethod != http.MethodPost {
		return events.APIGatewayProxyResponse{}, &apigw.TransportError{Status: http.StatusMethodNotAllowed, Code: apigw.CodeMethodNotAllowed, Message: "use POST"}
	}
	if !h.limit.Allow() {
		resp, err := apigw.JSON(http.StatusTooManyRequests, map[string]any{"error": map[string]string{"code": "throttled", "message": "too many requests"}})
		resp.Headers["Retry-After"] = "1"
		return resp, err
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return events.APIGatewayProxyResponse{}, apikey.Invalid("body", "is not valid base64")
		}
	}
	if len(body) > MaxBodyBytes {
		return events.APIGatewayProxyResponse{}, &apigw.TransportError{Status: http.StatusRequestEntityTooLarge, Code: apigw.CodePayloadTooLarge, Message: "a report may hold at most 65536 bytes"}
	}
	if err := verify(ctx, h.keys, body, apigw.Header(req, HeaderKeyID), apigw.Header(req, HeaderSignature)); err != nil {
		if errors.Is(err, errBadSignature) {
			return events.APIGatewayProxyResponse{}, apikey.Errorf(apikey.ECodeUnauthorized, "the report's signature is missing or invalid")
		}
		return events.APIGatewayProxyResponse{}, apikey.Errorf(apikey.ECodeUnavailable, "signing keys unavailable")
	}
	var matches []Match
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&matches); err != nil || dec.More() {
		return events.APIGatewayProxyResponse{}, apikey.Invalid("body", "must be a JSON array of {token, type, url, source}")
	}
	if len(matches) == 0 || len(matches) > MaxTokens {
		return events.APIGatewayProxyResponse{}, apikey.Invalid("body", "must list 1 to %d tokens", MaxTokens)
	}
	for i, m := range matches {
		if m.Token == "" || len(m.Token) > 512 {
			return events.APIGatewayProxyResponse{}, apikey.Invalid("token", "entry %d: token must be 1-512 bytes", i)
		}
	}
	labels, revoked, err := h.apply(ctx, matches)
	if revoked && h.flush != nil {
		h.flush.Flush(ctx, "leaked key revoked")
	}
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(http.StatusOK, labels)
}

// apply reports each token in turn; revoked says whether any key was revoked.
func (h *Handler) apply(ctx context.Context, matches []Match) (labels []Label, revoked bool, err error) {
	labels = make([]Label, 0, len(matches))
	for _, m := range matches {
		out, err := h.svc.ReportLeak(ctx, m.Token, m.URL, m.Source)
		if err != nil {
			return nil, true, err // a revocation may have committed
		}
		sum := sha256.Sum256([]byte(m.Token))
		l := Label{TokenHash: hex.EncodeToString(sum[:]), TokenType: m.Type, Label: "false_positive"}
		if out.TruePositive {
			l.Label = "true_positive"
			attrs := []slog.Attr{slog.String("keyId", out.Key.ID), slog.String("tenantId", out.Key.TenantID), slog.String("action", string(out.Action))}
			h.log.LogAttrs(ctx, slog.LevelWarn, "leaked key reported", attrs...)
		}
		revoked = revoked || out.Action == apikey.LeakRevoke
		labels = append(labels, l)
	}
	return labels, revoked, nil
}
