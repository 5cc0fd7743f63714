package templatecheck

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// functionProps parses one function's Properties from YAML.
func functionProps(t *testing.T, props string) map[string]any {
	t.Helper()
	src := "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n" + indent(props, "      ")
	tmpl, err := samtemplate.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl.Resources()["F"].Properties
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestPoliciesRejectsWhatCannotBeChecked(t *testing.T) {
	tests := []struct{ name, props, want string }{
		{"ManagedPolicy", "Policies: [AmazonDynamoDBFullAccess]", "managed policy AmazonDynamoDBFullAccess"},
		{"PolicyTemplate", "Policies: [{DynamoDBCrudPolicy: {TableName: !Ref T}}]", "SAM policy template [DynamoDBCrudPolicy]"},
		{"Role", "Role: !GetAtt R.Arn", "sets Role"},
		{"NotAction", "Policies: [{Statement: [{Effect: Allow, NotAction: iam:*, Resource: '*'}]}]", "uses NotAction"},
		{"IntrinsicAction", "Policies: [{Statement: [{Effect: Allow, Action: !Ref A, Resource: x}]}]", "is not a plain string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := Policies(functionProps(t, tc.props))
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("errors = %v, want one containing %q", errs, tc.want)
			}
		})
	}
	t.Run("InlineStatementsRendered", func(t *testing.T) {
		stmts, errs := Policies(functionProps(t, `
Policies:
  - Statement:
      - Sid: Keys
        Effect: Allow
        Action: [dynamodb:GetItem, dynamodb:Query]
        Resource: [!GetAtt KeysTable.Arn, !Sub "${KeysTable.Arn}/index/*", !Join ["", [!GetAtt KeysTable.Arn, /stream/*]]]
      - Effect: Deny
        Action: dynamodb:DeleteItem
        Resource: "*"
  - Statement:
      Effect: Allow
      Action: kms:Decrypt
      Resource: !Ref KeyArn`))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if len(stmts) != 2 {
			t.Fatalf("statements = %+v, want the two Allow statements", stmts)
		}
		if got, want := strings.Join(stmts[0].Resources, " "), "${KeysTable.Arn} ${KeysTable.Arn}/index/* ${KeysTable.Arn}/stream/*"; got != want {
			t.Errorf("resources = %q, want %q", got, want)
		}
		if got, want := strings.Join(stmts[1].Resources, " "), "${KeyArn}"; got != want {
			t.Errorf("resources = %q, want %q", got, want)
		}
	})
}

func TestCheckPolicies(t *testing.T) {
	site := Site{Via: []string{"main"}}
	needs := func(actions ...string) []Need {
		var out []Need
		for _, a := range actions {
			out = append(out, Need{Action: a, Op: Op{"x", "Y"}, Site: site})
		}
		return out
	}
	table := "${KeysTable.Arn}"
	tests := []struct {
		name       string
		stmts      []Statement
		needs      []Need
		readsIndex bool
		extra      map[string]bool
		want       []string // one error each, in order; none for a clean policy
	}{
		{
			name:  "ExactGrantIsClean",
			stmts: []Statement{{Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem"}, Resources: []string{table}}},
			needs: needs("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:GetItem"),
		},
		{
			name:  "ActionNamesAreCaseInsensitive",
			stmts: []Statement{{Actions: []string{"DynamoDB:getitem"}, Resources: []string{table}}},
			needs: needs("dynamodb:GetItem"),
		},
		{
			name:  "MissingAction",
			stmts: []Statement{{Actions: []string{"dynamodb:GetItem"}, Resources: []string{table}}},
			needs: needs("dynamodb:GetItem", "kms:Decrypt"),
			want:  []string{"kms:Decrypt is not granted"},
		},
		{
			name:  "UnusedAction",
			stmts: []Statement{{Actions: []string{"dynamodb:GetItem", "dynamodb:DeleteItem"}, Resources: []string{table}}},
			needs: needs("dynamodb:GetItem"),
			want:  []string{"dynamodb:DeleteItem is granted but the code never calls it"},
		},
		{
			name:  "EventSourceActionsMayBeGranted",
			stmts: []Statement{{Actions: []string{"dynamodb:GetRecords", "sqs:SendMessage"}, Resources: []string{"${KeysTable.StreamArn}", "${DLQ.Arn}"}}},
			extra: map[string]bool{"dynamodb:GetRecords": true, "sqs:SendMessage": true},
		},
		{
			name:  "WildcardAction",
			stmts: []Statement{{Sid: "All", Actions: []string{"dynamodb:*"}, Resources: []string{table}}},
			extra: map[string]bool{"dynamodb:*": true},
			want:  []string{"statement All: action dynamodb:* is a wildcard"},
		},
		{
			name:  "Scan",
			stmts: []Statement{{Sid: "S", Actions: []string{"dynamodb:Scan"}, Resources: []string{table}}},
			needs: needs("dynamodb:Scan"),
			want:  []string{"statement S: dynamodb:Scan is never needed"},
		},
		{
			name:  "AnyResource",
			stmts: []Statement{{Sid: "K", Actions: []string{"kms:Decrypt"}, Resources: []string{"*"}}},
			needs: needs("kms:Decrypt"),
			want:  []string{`statement K: kms:Decrypt on Resource "*"`},
		},
		{
			name:  "AnyResourceWhereIAMRequiresIt",
			stmts: []Statement{{Actions: []string{"cloudwatch:PutMetricData"}, Resources: []string{"*"}}},
			needs: needs("cloudwatch:PutMetricData"),
		},
		{
			name:  "WildcardTable",
			stmts: []Statement{{Sid: "T", Actions: []string{"dynamodb:GetItem"}, Resources: []string{"arn:aws:dynamodb:*:*:table/*"}}},
			needs: needs("dynamodb:GetItem"),
			want:  []string{"statement T: resource arn:aws:dynamodb:*:*:table/* has a wildcard"},
		},
		{
			name:  "FlushOnAnyAPIOfTheStage",
			stmts: []Statement{{Actions: []string{"apigateway:DELETE"}, Resources: []string{"arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/*/stages/${Stage}/cache/authorizers"}}},
			needs: needs("apigateway:DELETE"),
		},
		{
			name:  "FlushOnAnyStage",
			stmts: []Statement{{Sid: "F", Actions: []string{"apigateway:DELETE"}, Resources: []string{"arn:aws:apigateway:eu-west-1::/restapis/*/stages/*/cache/authorizers"}}},
			needs: needs("apigateway:DELETE"),
		},
		{
			name:  "FlushWildcardBeyondTheCache",
			stmts: []Statement{{Sid: "F", Actions: []string{"apigateway:DELETE"}, Resources: []string{"arn:aws:apigateway:eu-west-1::/restapis/*/stages/*/cache/*"}}},
			needs: needs("apigateway:DELETE"),
			want:  []string{"statement F: resource arn:aws:apigateway:eu-west-1::/restapis/*/stages/*/cache/* has a wildcard"},
		},
		{
			name:  "AnyAPIForOtherVerbs",
			stmts: []Statement{{Sid: "G", Actions: []string{"apigateway:GET"}, Resources: []string{"arn:aws:apigateway:eu-west-1::/restapis/*/stages/prod/cache/authorizers"}}},
			needs: needs("apigateway:GET"),
			want:  []string{"statement G: resource"},
		},
		{
			name:       "IndexQueryNeedsIndexResource",
			stmts:      []Statement{{Actions: []string{"dynamodb:Query"}, Resources: []string{table}}},
			needs:      needs("dynamodb:Query"),
			readsIndex: true,
			want:       []string{"queries a secondary index, but no statement grants"},
		},
		{
			name:       "IndexResourceGranted",
			stmts:      []Statement{{Actions: []string{"dynamodb:Query"}, Resources: []string{table, table + "/index/*"}}},
			needs:      needs("dynamodb:Query"),
			readsIndex: true,
		},
		{
			name:  "IndexResourceWithoutIndexQuery",
			stmts: []Statement{{Actions: []string{"dynamodb:Query"}, Resources: []string{table, table + "/index/*"}}},
			needs: needs("dynamodb:Query"),
			want:  []string{"grants access to a secondary index, but the code queries none"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := CheckPolicies(tc.stmts, tc.needs, tc.readsIndex, tc.extra)
			if len(errs) != len(tc.want) {
				t.Fatalf("errors = %v, want %d: %v", errs, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], w)
				}
			}
		})
	}
}
