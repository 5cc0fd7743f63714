package samtemplate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// lookup walks a decoded template along keys (map keys, or list indexes as
// decimal strings).
func lookup(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, k := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				t.Fatalf("no key %q on the way to %v", k, path)
			}
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				t.Fatalf("index %s out of range on the way to %v", k, path)
			}
			v = x[i]
		default:
			t.Fatalf("cannot index %T with %q on the way to %v", v, k, path)
		}
	}
	return v
}

func mustParse(t *testing.T, src string) *Template {
	t.Helper()
	tmpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tmpl
}

const tagsTemplate = `
Resources:
  Thing:
    Type: Custom::Thing
    Metadata:
      BuildMethod: makefile
    Condition: IsProd
    Properties:
      Ref: !Ref Stage
      RefNumberLike: !Ref 123
      GetAtt: !GetAtt Table.StreamArn
      GetAttDotted: !GetAtt Db.Endpoint.Address
      GetAttList: !GetAtt [Table, Arn]
      Sub: !Sub "arn:${AWS::Partition}:x"
      SubVars: !Sub
        - "${A}-${B}"
        - A: !Ref Stage
          B: literal
      If: !If [IsProd, !Ref Stage, !Ref "AWS::NoValue"]
      Join: !Join [",", [a, !Ref Stage]]
      Select: !Select [0, !GetAZs ""]
      Split: !Split [",", "a,b"]
      Equals: !Equals [!Ref Stage, prod]
      Not: !Not [!Condition IsProd]
      And: !And [!Condition IsProd, !Condition IsEu]
      Or: !Or [!Condition IsProd, !Condition IsEu]
      FindInMap: !FindInMap [Map, !Ref "AWS::Region", Key]
      Base64: !Base64 hello
      ImportValue: !ImportValue shared-vpc
      Anchored: &anch
        Name: !Ref Stage
        Kind: plain
      Aliased: *anch
      TaggedAnchor: &tagged !GetAtt Key.Arn
      TaggedAlias: *tagged
      Merged:
        <<: *anch
        Kind: merged
`

func TestParseRewritesShortFormTags(t *testing.T) {
	tmpl := mustParse(t, tagsTemplate)
	props := tmpl.Resources()["Thing"].Properties
	ref := func(s string) any { return map[string]any{"Ref": s} }
	cond := func(s string) any { return map[string]any{"Condition": s} }
	tests := []struct {
		key  string
		want any
	}{
		{"Ref", ref("Stage")},
		{"RefNumberLike", ref("123")},
		{"GetAtt", map[string]any{"Fn::GetAtt": []any{"Table", "StreamArn"}}},
		{"GetAttDotted", map[string]any{"Fn::GetAtt": []any{"Db", "Endpoint.Address"}}},
		{"GetAttList", map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}},
		{"Sub", map[string]any{"Fn::Sub": "arn:${AWS::Partition}:x"}},
		{"SubVars", map[string]any{"Fn::Sub": []any{"${A}-${B}", map[string]any{"A": ref("Stage"), "B": "literal"}}}},
		{"If", map[string]any{"Fn::If": []any{"IsProd", ref("Stage"), ref("AWS::NoValue")}}},
		{"Join", map[string]any{"Fn::Join": []any{",", []any{"a", ref("Stage")}}}},
		{"Select", map[string]any{"Fn::Select": []any{0, map[string]any{"Fn::GetAZs": ""}}}},
		{"Split", map[string]any{"Fn::Split": []any{",", "a,b"}}},
		{"Equals", map[string]any{"Fn::Equals": []any{ref("Stage"), "prod"}}},
		{"Not", map[string]any{"Fn::Not": []any{cond("IsProd")}}},
		{"And", map[string]any{"Fn::And": []any{cond("IsProd"), cond("IsEu")}}},
		{"Or", map[string]any{"Fn::Or": []any{cond("IsProd"), cond("IsEu")}}},
		{"FindInMap", map[string]any{"Fn::FindInMap": []any{"Map", ref("AWS::Region"), "Key"}}},
		{"Base64", map[string]any{"Fn::Base64": "hello"}},
		{"ImportValue", map[string]any{"Fn::ImportValue": "shared-vpc"}},
		{"Anchored", map[string]any{"Name": ref("Stage"), "Kind": "plain"}},
		{"Aliased", map[string]any{"Name": ref("Stage"), "Kind": "plain"}},
		{"TaggedAnchor", map[string]any{"Fn::GetAtt": []any{"Key", "Arn"}}},
		{"TaggedAlias", map[string]any{"Fn::GetAtt": []any{"Key", "Arn"}}},
		{"Merged", map[string]any{"Name": ref("Stage"), "Kind": "merged"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := props[tt.key]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.key, got, tt.want)
			}
		})
	}
	if len(props) != len(tests) {
		t.Errorf("got %d properties, tested %d", len(props), len(tests))
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
	}{
		{"Empty", "", "empty template"},
		{"NotAMapping", "- a\n- b\n", "cannot unmarshal"},
		{"TwoDocuments", "A: 1\n---\nB: 2\n", "more than one YAML document"},
		{"UnknownTag", "Resources:\n  X:\n    Type: T\n    Properties:\n      P: !Bogus x\n", "unsupported tag !Bogus"},
		{"GetAttWithoutDot", "Resources:\n  X:\n    Type: T\n    Properties:\n      P: !GetAtt Table\n", "not Resource.Attribute"},
		{"ResourceWithoutType", "Resources:\n  X:\n    Properties: {}\n", "resource X has no Type"},
		{"PropertiesNotAMapping", "Resources:\n  X:\n    Type: T\n    Properties: [a]\n", "Properties is not a mapping"},
		{"IntrinsicDefault", "Parameters:\n  P:\n    Type: String\n    Default: !Ref X\n", "parameter P: Default"},
		{"BadYAML", "Resources: [\n", "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestResourcesAndParameters(t *testing.T) {
	tmpl := mustParse(t, `
Parameters:
  Stage: {Type: String, Default: v1, AllowedPattern: "^[a-z0-9]+$", Description: stage}
  Days: {Type: Number, Default: 90}
  Ratio: {Type: Number, Default: 0.5}
  Empty: {Type: String, Default: ""}
  Flag: {Type: String, Default: true, AllowedValues: [true, false]}
  Names: {Type: CommaDelimitedList, Default: [a, b]}
  Required: {Type: String}
Resources:
  A: {Type: AWS::DynamoDB::Table, Properties: {X: 1}}
  B: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: makefile}, Condition: C}
  C: {Type: AWS::DynamoDB::Table}
`)
	res := tmpl.Resources()
	if got, want := len(res), 3; got != want {
		t.Fatalf("len(Resources()) = %d, want %d", got, want)
	}
	if got, want := res["B"], (Resource{Type: "AWS::Serverless::Function", Metadata: map[string]any{"BuildMethod": "makefile"}, Condition: "C"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Resources()[B] = %#v, want %#v", got, want)
	}
	tables := tmpl.ResourcesOfType(TableType)
	if _, ok := tables["A"]; !ok || len(tables) != 2 {
		t.Errorf("ResourcesOfType(%s) = %v, want A and C", TableType, tables)
	}

	params := tmpl.Parameters()
	tests := []struct {
		name string
		want Parameter
	}{
		{"Stage", Parameter{Type: "String", Default: "v1", HasDefault: true, Description: "stage", AllowedPattern: "^[a-z0-9]+$"}},
		{"Days", Parameter{Type: "Number", Default: "90", HasDefault: true}},
		{"Ratio", Parameter{Type: "Number", Default: "0.5", HasDefault: true}},
		{"Empty", Parameter{Type: "String", Default: "", HasDefault: true}},
		{"Flag", Parameter{Type: "String", Default: "true", HasDefault: true, AllowedValues: []string{"true", "false"}}},
		{"Names", Parameter{Type: "CommaDelimitedList", Default: "a,b", HasDefault: true}},
		{"Required", Parameter{Type: "String"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := params[tt.name]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parameters()[%s] = %#v, want %#v", tt.name, got, tt.want)
			}
		})
	}

	vals := tmpl.ParameterValues(map[string]string{"Stage": "prod", "AWS::Region": "eu-west-1"})
	want := map[string]string{"Stage": "prod", "Days": "90", "Ratio": "0.5", "Empty": "", "Flag": "true", "Names": "a,b", "AWS::Region": "eu-west-1"}
	if !reflect.DeepEqual(vals, want) {
		t.Errorf("ParameterValues = %v, want %v", vals, want)
	}
}

func TestResolveString(t *testing.T) {
	params := map[string]string{"Stage": "v1", "AWS::Region": "us-east-1", "KeysTable": "keys-dev", "Key.Arn": "arn:aws:kms:k"}
	ref := func(s string) any { return map[string]any{"Ref": s} }
	tests := []struct {
		name    string
		in      any
		want    string
		wantErr string
	}{
		{"PlainString", "hello", "hello", ""},
		{"Integer", 90, "90", ""},
		{"Float", 1.5, "1.5", ""},
		{"Bool", true, "true", ""},
		{"RefParameter", ref("Stage"), "v1", ""},
		{"RefPseudo", ref("AWS::Region"), "us-east-1", ""},
		{"RefResource", ref("KeysTable"), "keys-dev", ""},
		{"RefMissing", ref("Nope"), "", "Ref Nope: no value supplied"},
		{"GetAtt", map[string]any{"Fn::GetAtt": []any{"Key", "Arn"}}, "arn:aws:kms:k", ""},
		{"GetAttMissing", map[string]any{"Fn::GetAtt": []any{"Key", "Id"}}, "", "Key.Id: no value supplied"},
		{"Sub", map[string]any{"Fn::Sub": "t-${Stage}-${AWS::Region}-${!Literal}"}, "t-v1-us-east-1-${Literal}", ""},
		{"SubVars", map[string]any{"Fn::Sub": []any{"${A}/${Key.Arn}", map[string]any{"A": ref("KeysTable")}}}, "keys-dev/arn:aws:kms:k", ""},
		{"SubMissing", map[string]any{"Fn::Sub": "${Nope}"}, "", "${Nope}: no value supplied"},
		{"SubUnterminated", map[string]any{"Fn::Sub": "${Stage"}, "", "unterminated"},
		{"Join", map[string]any{"Fn::Join": []any{"-", []any{"a", ref("Stage"), 3}}}, "a-v1-3", ""},
		{"If", map[string]any{"Fn::If": []any{"C", "a", "b"}}, "", "cannot resolve intrinsic Fn::If"},
		{"Mapping", map[string]any{"A": 1, "B": 2}, "", "cannot resolve mapping [A B]"},
		{"List", []any{"a"}, "", "list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveString(tt.in, params)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveString(%v) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ResolveString(%v) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, FileName), []byte("Resources: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory named template.yaml must not be mistaken for the file.
	if err := os.Mkdir(filepath.Join(root, "a", FileName), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, start, want string
	}{
		{"FromDeepDirectory", deep, filepath.Join(root, FileName)},
		{"FromTheTemplateDirectory", root, filepath.Join(root, FileName)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Find(tt.start)
			if err != nil || got != tt.want {
				t.Fatalf("Find(%s) = %q, %v; want %q", tt.start, got, err, tt.want)
			}
		})
	}
	t.Run("MissingIsAnError", func(t *testing.T) {
		if _, err := Find(filepath.Join(string(filepath.Separator), "proc", "self")); err == nil {
			t.Fatal("Find found a template where there is none")
		}
	})
}

func TestLoadReportsPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(p, []byte("Resources:\n  X: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("Load error = %v, want one naming %s", err, p)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}
