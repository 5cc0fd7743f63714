package lambdaemu

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Patterns of the Lambda operations InvokeAPI serves, for an http.ServeMux.
const (
	InvokePath        = "POST /2015-03-31/functions/{name}/invocations"
	GetFunctionPath   = "GET /2015-03-31/functions/{name}"
	ListFunctionsPath = "GET /2015-03-31/functions"
)

// InvokeAPI serves Lambda's Invoke operation (the one `aws lambda invoke`
// and the SDKs' Invoke call) for the functions Lookup finds by name, and
// GetFunction and ListFunctions so they can be discovered.
type InvokeAPI struct {
	// Lookup returns the function with this name, or nil.
	Lookup func(name string) *Function
	// List returns every function, for ListFunctions (nil: none).
	List func() []*Function
	// Async bounds asynchronous (Event) invocations; nil runs them with
	// context.Background().
	Async context.Context
}

// Register adds Invoke, GetFunction and ListFunctions to mux.
func (a *InvokeAPI) Register(mux *http.ServeMux) {
	mux.Handle(InvokePath, a)
	mux.HandleFunc(GetFunctionPath, a.getFunction)
	mux.HandleFunc(ListFunctionsPath, a.listFunctions)
	mux.HandleFunc(ListFunctionsPath+"/{$}", a.listFunctions)
}

// functionConfiguration is the part of Lambda's FunctionConfiguration a
// local function has.
type functionConfiguration struct {
	FunctionName string `json:"FunctionName"`
	FunctionArn  string `json:"FunctionArn"`
	Runtime      string `json:"Runtime"`
	Handler      string `json:"Handler"`
	Timeout      int    `json:"Timeout"`
	MemorySize   int    `json:"MemorySize"`
	Version      string `json:"Version"`
	PackageType  string `json:"PackageType"`
	State        string `json:"State"`
}

func configuration(f *Function) functionConfiguration {
	return functionConfiguration{
		FunctionName: f.cfg.Name, FunctionArn: f.arn, Runtime: "provided.al2023", Handler: "bootstrap",
		Timeout: int(f.cfg.Timeout / time.Second), MemorySize: f.cfg.MemoryMB, Version: "$LATEST",
		PackageType: "Zip", State: "Active",
	}
}

func (a *InvokeAPI) getFunction(w http.ResponseWriter, r *http.Request) {
	name, _ := functionName(r.PathValue("name"))
	f := a.Lookup(name)
	if f == nil {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException",
			fmt.Sprintf("Function not found: arn:aws:lambda:%s:%s:function:%s", DefaultRegion, DefaultAccount, name))
		return
	}
	writeJSON(w, map[string]any{"Configuration": configuration(f)})
}

func (a *InvokeAPI) listFunctions(w http.ResponseWriter, _ *http.Request) {
	out := []functionConfiguration{}
	if a.List != nil {
		for _, f := range a.List() {
			out = append(out, configuration(f))
		}
	}
	writeJSON(w, map[string]any{"Functions": out})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// ServeHTTP implements the operation: RequestResponse (default) answers 200
// with the payload, and X-Amz-Function-Error when the function failed;
// Event answers 202 and runs the invocation in the background; DryRun
// answers 204. The function may be named by name, ARN or partial ARN, with
// an optional :$LATEST qualifier.
func (a *InvokeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("X-Amzn-Requestid", reqID)
	name, qualifier := functionName(r.PathValue("name"))
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}
	f := a.Lookup(name)
	if f == nil {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException",
			fmt.Sprintf("Function not found: arn:aws:lambda:%s:%s:function:%s", DefaultRegion, DefaultAccount, name))
		return
	}
	if qualifier != "" && qualifier != "$LATEST" {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException",
			fmt.Sprintf("Function not found: %s:%s (only $LATEST exists locally)", f.ARN(), qualifier))
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "could not read the request body")
		return
	}
	if len(payload) > MaxPayloadBytes {
		lambdaError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if len(strings.TrimSpace(string(payload))) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		ctx := a.Async
		if ctx == nil {
			ctx = context.Background()
		}
		go func() { _, _ = f.Invoke(ctx, payload) }()
		w.WriteHeader(http.StatusAccepted)
		return
	default:
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun")
		return
	}
	// Lambda keeps a synchronous invocation open up to the function's
	// timeout; a client that hangs up does not stop it.
	ctx, cancel := context.WithTimeout(r.Context(), f.Timeout()+30*time.Second)
	defer cancel()
	res, err := f.Invoke(ctx, payload)
	if err != nil {
		lambdaError(w, http.StatusServiceUnavailable, "ServiceException", "the function could not be invoked: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if res.FunctionError != "" {
		w.Header().Set("X-Amz-Function-Error", res.FunctionError)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
}

// functionName extracts the function name and qualifier from a name, an
// ARN (arn:aws:lambda:region:account:function:name[:qualifier]) or a
// partial ARN (account:function:name[:qualifier]).
func functionName(s string) (name, qualifier string) {
	parts := strings.Split(s, ":")
	for i, p := range parts {
		if p == "function" && i+1 < len(parts) {
			name = parts[i+1]
			if i+2 < len(parts) {
				qualifier = parts[i+2]
			}
			return name, qualifier
		}
	}
	if len(parts) == 2 {
		return parts[0], parts[1]
	}
	return s, ""
}

// lambdaError writes an error the way Lambda's REST-JSON protocol does: the
// type in X-Amzn-Errortype, the message in the body.
func lambdaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"Type": "User", "message": msg})
	_, _ = w.Write(b)
}
