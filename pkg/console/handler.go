package console

import (
	"context"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// API Gateway resource paths of the console's routes (no authorizer: the
// files hold nothing secret, and the page asks for a token itself).
const (
	ResourcePage  = "/console"
	ResourceAsset = "/console/{asset+}"
)

// CSP allows the console's own files and calls to its own origin, nothing
// else: no inline script or style, no third party, no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Cache lifetimes: the page is revalidated on every load (it names the
// current fingerprinted assets); a fingerprinted asset never changes.
const (
	cachePage  = "no-cache"
	cacheAsset = "public, max-age=31536000, immutable"
)

// Handler serves the console's routes.
type Handler struct {
	site *Site
	log  *slog.Logger
}

// NewHandler returns a handler over site, logging to log (slog.Default when nil).
func NewHandler(site *Site, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{site: site, log: log}
}

// SecurityHeaders are on every response of the console.
func SecurityHeaders() map[string]string {
	return map[string]string{
		"Content-Security-Policy":      CSP,
		"Referrer-Policy":              "no-referrer",
		"X-Content-Type-Options":       "nosniff",
		"X-Frame-Options":              "DENY",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
		"Strict-Transport-Security":    "max-age=31536000",
	}
}

// Handle serves one proxy event: the page at /console, an asset at
// /console/<served name>. An asset is found by the last segment of the path,
// so the page's relative references work whether it was loaded as /console
// or /console/.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	status, resp := h.serve(req)
	h.log.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("requestId", req.RequestContext.RequestID),
		slog.String("method", req.HTTPMethod),
		slog.String("resource", req.Resource),
		slog.Int("status", status))
	return resp, nil
}

func (h *Handler) serve(req events.APIGatewayProxyRequest) (int, events.APIGatewayProxyResponse) {
	method := strings.ToUpper(req.HTTPMethod)
	if method != http.MethodGet && method != http.MethodHead {
		r := text(http.StatusMethodNotAllowed, "method not allowed\n")
		r.Headers["Allow"] = "GET, HEAD"
		return r.StatusCode, r
	}
	var a Asset
	var ok bool
	switch req.Resource {
	case ResourcePage:
		a, ok = h.site.Page, true
	case ResourceAsset:
		a, ok = h.site.Assets[path.Base(req.PathParameters["asset"])]
	}
	if !ok {
		r := text(http.StatusNotFound, "not found\n")
		return r.StatusCode, r
	}
	hdr := SecurityHeaders()
	hdr["Content-Type"] = a.ContentType
	hdr["Cache-Control"] = cachePage
	if a.Immutable {
		hdr["Cache-Control"] = cacheAsset
	}
	body := string(a.Body)
	if method == http.MethodHead {
		body = ""
	}
	return http.StatusOK, events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Headers: hdr, Body: body}
}

func text(status int, body string) events.APIGatewayProxyResponse {
	hdr := SecurityHeaders()
	hdr["Content-Type"] = "text/plain; charset=utf-8"
	hdr["Cache-Control"] = "no-store"
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: hdr, Body: body}
}
