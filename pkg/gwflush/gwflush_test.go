package gwflush_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"

	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

// gateway is a loopback stand-in for API Gateway's control plane that
// records every call it gets.
type gateway struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []string
	status int
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{status: http.StatusAccepted}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.calls = append(g.calls, r.Method+" "+r.URL.Path)
		status := g.status
		g.mu.Unlock()
		if status >= 300 {
			w.Header().Set("Content-Type", "application/json")
			errType := "BadRequestException"
			if status == http.StatusTooManyRequests {
				errType = "TooManyRequestsException"
			}
			w.Header().Set("X-Amzn-Errortype", errType)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"message":"injected failure"}`))
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) take() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.calls
	g.calls = nil
	return c
}

func (g *gateway) fail(status int) {
	g.mu.Lock()
	g.status = status
	g.mu.Unlock()
}

func (g *gateway) httpClient() *apigatewayv2.Client {
	return apigatewayv2.New(apigatewayv2.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(g.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

func (g *gateway) client() *apigateway.Client {
	return apigateway.New(apigateway.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(g.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}
