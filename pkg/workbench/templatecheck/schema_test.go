package templatecheck

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

var (
	validatorOnce sync.Once
	validator     *Validator
	validatorErr  error
)

// mustValidator compiles the schemas in schemaDir once per test binary.
func mustValidator(tb testing.TB) *Validator {
	tb.Helper()
	validatorOnce.Do(func() { validator, validatorErr = NewValidator(os.DirFS(schemaDir)) })
	if validatorErr != nil {
		tb.Fatalf("%v (the schemas are in %s)", validatorErr, schemaDir)
	}
	return validator
}

func validateSnippet(t *testing.T, src string) []error {
	t.Helper()
	tmpl, err := samtemplate.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return mustValidator(t).ValidateTemplate(tmpl)
}

func TestValidatorRejectsBrokenProperties(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings of the one error
	}{
		{
			name: "BillingModeOutsideItsEnum",
			src: `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: FREE
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]`,
			want: []string{"resource T", "aws-dynamodb-table.json", "/BillingMode", "PAY_PER_REQUEST"},
		},
		{
			name: "UnknownFunctionProperty",
			src: `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Frobnicate: true`,
			want: []string{"resource F", "AWS::Serverless::Function", "'Frobnicate' not allowed"},
		},
		{
			name: "UnknownApiEventProperty",
			src: `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Get:
          Type: Api
          Properties: { Path: /x, Method: GET, Verb: GET }`,
			want: []string{"/Properties/Events/Get/Properties", "'Verb' not allowed"},
		},
		{
			name: "UnknownGlobalsProperty",
			src: `
Globals:
  Function:
    Runtime: provided.al2023
    Policies: []
Resources: {}`,
			want: []string{"Globals", "'Policies' not allowed"},
		},
		{
			name: "StringWhereAnIntegerIsDue",
			src: `
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: two weeks`,
			want: []string{"resource Q", "/MessageRetentionPeriod", "want integer"},
		},
		{
			name: "MisspelledNestedProperty",
			src: `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]
      TimeToLiveSpecification: { AttributeName: ttl, Enable: true }`,
			want: []string{"/TimeToLiveSpecification", "'Enable' not allowed"},
		},
		{
			name: "MissingRequiredProperty",
			src: `
Resources:
  A:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: alias/x`,
			want: []string{"resource A", "TargetKeyId"},
		},
		{
			name: "TypeWithoutSchemaFile",
			src: `
Resources:
  L:
    Type: AWS::Lambda::Function
    Properties: {}`,
			want: []string{"resource L", "aws-lambda-function.json is missing"},
		},
		{
			name: "UnknownServerlessType",
			src: `
Resources:
  X:
    Type: AWS::Serverless::Queue`,
			want: []string{"resource X", "AWS::Serverless::Queue is not a resource type"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := validateSnippet(t, tc.src)
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs[0].Error(), w) {
					t.Errorf("error %q does not mention %q", errs[0], w)
				}
			}
		})
	}
}

func TestValidatorAcceptsIntrinsicsAnywhere(t *testing.T) {
	tests := []struct{ name, src string }{
		{"StringEnum", `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: !Ref Mode
      KeySchema: [{ AttributeName: !Sub "${P}pk", KeyType: !If [C, HASH, RANGE] }]`},
		{"Integer", `
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: !Ref Retention
      VisibilityTimeout: !Select [0, [30, 60]]`},
		{"Boolean", `
Resources:
  K:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: !Equals [!Ref Stage, prod]`},
		{"Array", `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: !Ref Schema
      AttributeDefinitions: !If [C, [{ AttributeName: pk, AttributeType: S }], !Ref AWS::NoValue]`},
		{"Object", `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]
      StreamSpecification: !If [C, { StreamViewType: KEYS_ONLY }, !Ref AWS::NoValue]
      SSESpecification: { SSEEnabled: !Ref Enc, KMSMasterKeyId: !GetAtt Key.Arn }`},
		{"ArrayItem", `
Resources:
  A:
    Type: AWS::CloudWatch::Alarm
    Properties:
      ComparisonOperator: GreaterThanThreshold
      EvaluationPeriods: 1
      Threshold: !Ref Limit
      AlarmActions: [!Ref Topic, !Sub "arn:${AWS::Partition}:sns:x"]`},
		{"ServerlessFunction", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: !Ref T
      Architectures: !Ref Archs
      Tracing: !If [C, Active, PassThrough]
      Events:
        S:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: !Ref Pos
            BatchSize: !Ref Size`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, err := range validateSnippet(t, tc.src) {
				t.Error(err)
			}
		})
	}
}

func TestAcceptIntrinsicsOnlyWrapsValuePositions(t *testing.T) {
	doc := map[string]any{
		"properties": map[string]any{
			// A property named "properties" is a value position, not a keyword.
			"properties": map[string]any{"type": "string"},
			"Choice": map[string]any{"oneOf": []any{
				map[string]any{"$ref": "#/definitions/A"},
				map[string]any{"type": "string"},
			}},
		},
		"definitions": map[string]any{"A": map[string]any{"type": "object"}},
	}
	acceptIntrinsics(doc)
	props := doc["properties"].(map[string]any)
	for _, name := range []string{"properties", "Choice"} {
		w, ok := props[name].(map[string]any)["anyOf"].([]any)
		if !ok || len(w) != 2 {
			t.Fatalf("%s = %v, want anyOf[original, intrinsic]", name, props[name])
		}
	}
	choice := props["Choice"].(map[string]any)["anyOf"].([]any)[0].(map[string]any)
	for i, b := range choice["oneOf"].([]any) {
		if _, wrapped := b.(map[string]any)["anyOf"]; wrapped {
			t.Errorf("oneOf branch %d was wrapped; an intrinsic would then match every branch", i)
		}
	}
	if _, wrapped := doc["definitions"].(map[string]any)["A"].(map[string]any)["anyOf"]; wrapped {
		t.Error("definition A was wrapped; $refs to it come from wrapped positions already")
	}
	if _, ok := doc["definitions"].(map[string]any)[intrinsicDef]; !ok {
		t.Error("the intrinsic definition was not added")
	}
}

func TestSchemaFileName(t *testing.T) {
	for typ, want := range map[string]string{
		"AWS::DynamoDB::Table":    "aws-dynamodb-table.json",
		"AWS::CloudWatch::Alarm":  "aws-cloudwatch-alarm.json",
		"AWS::ApiGateway::ApiKey": "aws-apigateway-apikey.json",
	} {
		if got := SchemaFileName(typ); got != want {
			t.Errorf("SchemaFileName(%s) = %s, want %s", typ, got, want)
		}
	}
}
