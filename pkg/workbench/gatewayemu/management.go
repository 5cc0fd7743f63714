package gatewayemu

import (
	"encoding/json"
	"net/http"
)

// Management API operations served by ManagementAPI, as patterns for an
// http.ServeMux.
const (
	FlushAuthorizersCachePath = "DELETE /restapis/{restApiId}/stages/{stageName}/cache/authorizers"
	FlushStageCachePath       = "DELETE /restapis/{restApiId}/stages/{stageName}/cache/data"
	// ResetAuthorizersCachePath is API Gateway v2's operation for an HTTP
	// API's stage.
	ResetAuthorizersCachePath = "DELETE /v2/apis/{apiId}/stages/{stageName}/cache/authorizers"
)

// ManagementAPI serves the API Gateway management operations the functions
// call, for the given stages: FlushStageAuthorizersCache (and
// FlushStageCache, a no-op, since no stage caches responses locally) for
// REST APIs, and API Gateway v2's ResetAuthorizersCache for HTTP APIs.
// Point SDK apigateway and apigatewayv2 clients at it with
// AWS_ENDPOINT_URL_API_GATEWAY and AWS_ENDPOINT_URL_APIGATEWAYV2.
// Requests are not authenticated.
type ManagementAPI struct {
	Gateways []*Gateway
}

// Register adds the operations to mux.
func (m *ManagementAPI) Register(mux *http.ServeMux) {
	mux.HandleFunc(FlushAuthorizersCachePath, m.flushAuthorizers)
	mux.HandleFunc(FlushStageCachePath, m.flushStage)
	mux.HandleFunc(ResetAuthorizersCachePath, m.resetAuthorizers)
}

func (m *ManagementAPI) stage(r *http.Request) *Gateway {
	return m.find(r.PathValue("restApiId"), r.PathValue("stageName"), false)
}

func (m *ManagementAPI) find(id, stage string, isHTTP bool) *Gateway {
	for _, g := range m.Gateways {
		if g.APIID() == id && g.Stage() == stage && g.cfg.HTTP == isHTTP {
			return g
		}
	}
	return nil
}

func (m *ManagementAPI) flushAuthorizers(w http.ResponseWriter, r *http.Request) {
	g := m.stage(r)
	if g == nil {
		notFound(w)
		return
	}
	g.FlushAuthorizersCache()
	g.log.Info("authorizer cache flushed", "apiId", g.APIID(), "stage", g.Stage())
	w.WriteHeader(http.StatusAccepted)
}

func (m *ManagementAPI) resetAuthorizers(w http.ResponseWriter, r *http.Request) {
	g := m.find(r.PathValue("apiId"), r.PathValue("stageName"), true)
	if g == nil {
		notFound(w)
		return
	}
	g.FlushAuthorizersCache()
	g.log.Info("authorizer cache reset", "apiId", g.APIID(), "stage", g.Stage())
	w.WriteHeader(http.StatusNoContent)
}

func (m *ManagementAPI) flushStage(w http.ResponseWriter, r *http.Request) {
	if m.stage(r) == nil {
		notFound(w)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// notFound answers like API Gateway's NotFoundException.
func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", "NotFoundException")
	w.WriteHeader(http.StatusNotFound)
	b, _ := json.Marshal(map[string]string{"message": "Invalid stage identifier specified"})
	_, _ = w.Write(b)
}
