package templatecheck

import (
	"slices"
	"strings"
	"testing"
)

const fixturePkg = "github.com/keyward/keyward/pkg/workbench/templatecheck/testdata/fixture/fn"

func TestAnalyzeFixture(t *testing.T) {
	t.Parallel()
	u, ok := mustAnalysis(t)[fixturePkg]
	if !ok {
		t.Fatalf("Analyze returned %v, want %s among them", keysOf(mustAnalysis(t)), fixturePkg)
	}

	t.Run("ReachableOperationsOnly", func(t *testing.T) {
		var got []string
		for op := range u.Ops {
			got = append(got, op.String())
		}
		slices.Sort(got)
		want := []string{
			"apigateway.FlushStageAuthorizersCache", // a client method
			"dynamodb.GetItem",                      // through the store's interface, reached through Reader
			"dynamodb.Query",                        // in a MarshalJSON that encoding/json calls
			"dynamodb.TransactWriteItems",
			"kms.Decrypt", // pkg/kmsclient's, counted as the SDK's
		}
		if !slices.Equal(got, want) {
			t.Errorf("Ops = %v, want %v (Scan is in code main never reaches)", got, want)
		}
	})
	t.Run("EnvironmentThroughConstantsAndInjectedGetenv", func(t *testing.T) {
		got := keysOf(u.Env)
		if want := []string{"FIXTURE_PREFIX", "FIXTURE_TABLE"}; !slices.Equal(got, want) {
			t.Errorf("Env = %v, want %v", got, want)
		}
	})
	t.Run("NonConstantNamesReachableOnly", func(t *testing.T) {
		if len(u.DynamicEnv) != 1 || !strings.HasSuffix(u.DynamicEnv[0].Pos.Filename, "fn/main.go") {
			t.Errorf("DynamicEnv = %v, want main's os.Getenv(name) only (Everything's is unreachable)", u.DynamicEnv)
		}
	})
	t.Run("TransactionItemKinds", func(t *testing.T) {
		if got, want := keysOf(u.TransactWrites), []string{"Delete", "Put"}; !slices.Equal(got, want) {
			t.Errorf("TransactWrites = %v, want %v", got, want)
		}
	})
	t.Run("IndexRead", func(t *testing.T) {
		if len(u.IndexReads) == 0 {
			t.Fatal("IndexReads is empty, want the IndexName assignment in MarshalJSON")
		}
		if via := strings.Join(u.IndexReads[0].Via, " → "); !strings.Contains(via, "MarshalJSON") {
			t.Errorf("IndexReads[0] reached via %s, want through MarshalJSON", via)
		}
	})
	t.Run("RequiredActions", func(t *testing.T) {
		needs, errs := RequiredActions(u)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		var got []string
		for _, n := range needs {
			got = append(got, n.Action)
		}
		want := []string{"apigateway:DELETE", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "kms:Decrypt"}
		if !slices.Equal(got, want) {
			t.Errorf("actions = %v, want %v", got, want)
		}
	})
}

func TestRequiredActionsRules(t *testing.T) {
	site := Site{Via: []string{"main"}}
	tests := []struct {
		name    string
		usage   Usage
		want    []string
		wantErr string
	}{
		{
			name:  "TransactWriteItemsWithoutKnownItemsNeedsEveryItemAction",
			usage: Usage{Ops: map[Op]Site{{"dynamodb", "TransactWriteItems"}: site}},
			want:  []string{"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		},
		{
			name:  "TransactWriteItemsNeedsTheActionsOfItsItems",
			usage: Usage{Ops: map[Op]Site{{"dynamodb", "TransactWriteItems"}: site}, TransactWrites: map[string]Site{"Update": site}},
			want:  []string{"dynamodb:UpdateItem"},
		},
		{
			name:  "TransactGetItemsNeedsGetItem",
			usage: Usage{Ops: map[Op]Site{{"dynamodb", "TransactGetItems"}: site}},
			want:  []string{"dynamodb:GetItem"},
		},
		{
			name:  "StreamsAreDynamoDBActions",
			usage: Usage{Ops: map[Op]Site{{"dynamodbstreams", "GetRecords"}: site}},
			want:  []string{"dynamodb:GetRecords"},
		},
		{
			name:  "APIGatewayOperationsAreHTTPVerbs",
			usage: Usage{Ops: map[Op]Site{{"apigateway", "FlushStageAuthorizersCache"}: site, {"apigateway", "GetStage"}: site}},
			want:  []string{"apigateway:DELETE", "apigateway:GET"},
		},
		{
			name:  "KMSAndSQSByName",
			usage: Usage{Ops: map[Op]Site{{"kms", "Decrypt"}: site, {"sqs", "SendMessage"}: site}},
			want:  []string{"kms:Decrypt", "sqs:SendMessage"},
		},
		{
			name:    "UnknownServiceIsAnError",
			usage:   Usage{Ops: map[Op]Site{{"rekognition", "DetectFaces"}: site}},
			wantErr: "no rule maps service rekognition",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			needs, errs := RequiredActions(&tc.usage)
			if tc.wantErr != "" {
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.wantErr) {
					t.Fatalf("errors = %v, want one containing %q", errs, tc.wantErr)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			var got []string
			for _, n := range needs {
				got = append(got, n.Action)
			}
			got = slices.Compact(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("actions = %v, want %v", got, tc.want)
			}
		})
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
