package samtemplate

import (
	"reflect"
	"testing"
)

const serverlessTemplate = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Ttl: {Type: Number, Default: 60}
  Stage: {Type: String, Default: prod}
Globals:
  Function:
    Timeout: 10
    Handler: bootstrap
    Environment:
      Variables:
        TABLE: !Ref Table
        SHARED: global
    LoggingConfig:
      LogFormat: JSON
      ApplicationLogLevel: INFO
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      Auth:
        DefaultAuthorizer: Authz
        Authorizers:
          Authz:
            FunctionArn: !GetAtt AuthzFunction.Arn
            FunctionPayloadType: REQUEST
            Identity:
              Headers: [Authorization]
              Context: [identity.sourceIp, httpMethod, resourcePath]
              ReauthorizeEvery: !Ref Ttl
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: 401
          ResponseParameters:
            Headers:
              WWW-Authenticate: "'Bearer'"
          ResponseTemplates:
            application/json: '{"error":"unauthorized"}'
  AuthzFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      CodeUri: .
      Timeout: 3
  GetFunction:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: 256
      Environment:
        Variables:
          SHARED: mine
      Events:
        Get:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: "/v1/things/{id}", Method: get}
        Health:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /health, Method: GET, Auth: {Authorizer: NONE}}
        Open:
          Type: Api
          Properties: {Path: /open, Method: GET}
  StreamFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 25
            MaximumRetryAttempts: 2
            BisectBatchOnFunctionError: true
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: '{"dynamodb":{"Keys":{"sk":{"S":["KEY"]}}}}'
            DestinationConfig:
              OnFailure:
                Destination: !GetAtt Dlq.Arn
`

func TestServerlessFunctionsMergeGlobals(t *testing.T) {
	tmpl, err := Parse([]byte(serverlessTemplate))
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.ServerlessFunctions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(fns), 3; got != want {
		t.Fatalf("%d functions, want %d", got, want)
	}
	get := fns["GetFunction"]
	t.Run("FunctionValuesWinOverGlobals", func(t *testing.T) {
		if got, want := get.Environment["SHARED"], any("mine"); got != want {
			t.Errorf("SHARED = %v, want %v", got, want)
		}
		if got, want := get.Environment["TABLE"], any(map[string]any{"Ref": "Table"}); !reflect.DeepEqual(got, want) {
			t.Errorf("TABLE = %v, want %v", got, want)
		}
		if get.Timeout != 10 || get.MemorySize != 256 || get.Handler != "bootstrap" {
			t.Errorf("Timeout, MemorySize, Handler = %d, %d, %q", get.Timeout, get.MemorySize, get.Handler)
		}
		if fns["AuthzFunction"].Timeout != 3 || fns["AuthzFunction"].BuildMethod != "makefile" || fns["AuthzFunction"].CodeURI != "." {
			t.Errorf("AuthzFunction = %+v", fns["AuthzFunction"])
		}
		if get.LogFormat != "JSON" || get.ApplicationLogLevel != "INFO" {
			t.Errorf("logging = %q %q", get.LogFormat, get.ApplicationLogLevel)
		}
	})
	t.Run("APIEventsSortedWithAuth", func(t *testing.T) {
		want := []APIEvent{
			{Name: "Get", API: "Api", Method: "GET", Path: "/v1/things/{id}"},
			{Name: "Health", API: "Api", Method: "GET", Path: "/health", Authorizer: "NONE"},
			{Name: "Open", API: ImplicitAPIID, Method: "GET", Path: "/open"},
		}
		if !reflect.DeepEqual(get.APIEvents, want) {
			t.Errorf("APIEvents = %+v", get.APIEvents)
		}
	})
	t.Run("StreamEventSettings", func(t *testing.T) {
		evs := fns["StreamFunction"].StreamEvents
		if len(evs) != 1 {
			t.Fatalf("StreamEvents = %+v", evs)
		}
		e := evs[0]
		if e.StreamTable != "Table" || e.BatchSize != 25 || e.StartingPosition != "TRIM_HORIZON" ||
			e.MaximumRetryAttempts == nil || *e.MaximumRetryAttempts != 2 || !e.BisectBatchOnFunctionError ||
			!e.ReportBatchItemFailures || !e.Enabled || len(e.FilterPatterns) != 1 || e.OnFailure == nil {
			t.Errorf("stream event = %+v", e)
		}
	})
}

func TestServerlessAPIs(t *testing.T) {
	tmpl, err := Parse([]byte(serverlessTemplate))
	if err != nil {
		t.Fatal(err)
	}
	apis, err := tmpl.ServerlessAPIs(map[string]string{"Ttl": "5"})
	if err != nil {
		t.Fatal(err)
	}
	api := apis["Api"]
	if api == nil || apis[ImplicitAPIID] == nil || len(apis) != 2 {
		t.Fatalf("apis = %v", apis)
	}
	if got, want := apis[ImplicitAPIID].StageName, "Prod"; got != want {
		t.Errorf("implicit stage = %q, want %q", got, want)
	}
	if api.StageName != "prod" || api.DefaultAuthorizer != "Authz" {
		t.Errorf("api = %+v", api)
	}
	want := LambdaAuthorizer{Function: "AuthzFunction", PayloadType: "REQUEST", Headers: []string{"Authorization"}, Context: []string{"identity.sourceIp", "httpMethod", "resourcePath"}, ReauthorizeEvery: 5}
	if got := api.Authorizers["Authz"]; !reflect.DeepEqual(got, want) {
		t.Errorf("authorizer = %+v, want %+v", got, want)
	}
	gr := api.GatewayResponses["UNAUTHORIZED"]
	if gr.StatusCode != 401 || gr.Headers["WWW-Authenticate"] != "Bearer" || gr.Templates["application/json"] != `{"error":"unauthorized"}` {
		t.Errorf("gateway response = %+v", gr)
	}
}

func TestRepoTemplateServerless(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	fns, err := tmpl.ServerlessFunctions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) == 0 {
		t.Fatal("no functions")
	}
	apis, err := tmpl.ServerlessAPIs(nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, api := range apis {
		if api.StageName == "" {
			t.Errorf("api %s has no stage", id)
		}
		for name, a := range api.Authorizers {
			if a.Function == "" {
				t.Errorf("api %s authorizer %s names no function", id, name)
			}
		}
	}
}

func TestRefTarget(t *testing.T) {
	for _, c := range []struct {
		v          any
		id, attr   string
		wantTarget bool
	}{
		{map[string]any{"Ref": "X"}, "X", "", true},
		{map[string]any{"Fn::GetAtt": []any{"X", "Arn"}}, "X", "Arn", true},
		{map[string]any{"Fn::Sub": "${X}"}, "", "", false},
		{"X", "", "", false},
	} {
		id, attr, ok := RefTarget(c.v)
		if id != c.id || attr != c.attr || ok != c.wantTarget {
			t.Errorf("RefTarget(%v) = %q, %q, %v", c.v, id, attr, ok)
		}
	}
}

func TestServerlessHTTPAPIs(t *testing.T) {
	tmpl, err := Parse([]byte(`
Parameters:
  Ttl: {Type: Number, Default: 60}
Resources:
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: v1
      Auth:
        DefaultAuthorizer: K
        Authorizers:
          K:
            FunctionArn: {"Fn::ImportValue": "kw-AuthorizerFunctionArn"}
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [Authorization]
              Context: [routeKey, identity.sourceIp]
              ReauthorizeEvery: !Ref Ttl
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: "/items/{id}", Method: get}}
        Old: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /items, Method: GET, PayloadFormatVersion: "1.0", Auth: {Authorizer: NONE}}}
        Implicit: {Type: HttpApi, Properties: {Path: /x, Method: ANY}}
`))
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.ServerlessFunctions(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []APIEvent{
		{Name: "Get", API: "Http", Method: "GET", Path: "/items/{id}", HTTP: true, PayloadFormatVersion: "2.0"},
		{Name: "Implicit", API: ImplicitHTTPAPIID, Method: "ANY", Path: "/x", HTTP: true, PayloadFormatVersion: "2.0"},
		{Name: "Old", API: "Http", Method: "GET", Path: "/items", Authorizer: "NONE", HTTP: true, PayloadFormatVersion: "1.0"},
	}
	if got := fns["F"].APIEvents; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %+v, want %+v", got, want)
	}
	apis, err := tmpl.ServerlessAPIs(map[string]string{"Ttl": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if a := apis[ImplicitHTTPAPIID]; a == nil || !a.HTTP || a.StageName != "$default" {
		t.Errorf("implicit HTTP API = %+v", a)
	}
	api := apis["Http"]
	if api == nil || !api.HTTP || api.StageName != "v1" || api.DefaultAuthorizer != "K" {
		t.Fatalf("api = %+v", api)
	}
	wantAuth := LambdaAuthorizer{Import: "kw-AuthorizerFunctionArn", PayloadType: "REQUEST", Headers: []string{"Authorization"},
		Context: []string{"routeKey", "identity.sourceIp"}, ReauthorizeEvery: 5, PayloadFormatVersion: "2.0", SimpleResponses: true}
	if got := api.Authorizers["K"]; !reflect.DeepEqual(got, wantAuth) {
		t.Errorf("authorizer = %+v, want %+v", got, wantAuth)
	}
}
