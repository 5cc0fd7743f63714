package templatecheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

func TestReferences(t *testing.T) {
	tmpl, err := samtemplate.Parse([]byte(`
Parameters:
  Stage: { Type: String }
  Unused: { Type: String }
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-${Stage}"
      StreamSpecification: !If [IsProd, { StreamViewType: KEYS_ONLY }, !Ref AWS::NoValue]
  Fn:
    Type: AWS::Serverless::Function
    DependsOn: [Table, Ghost]
    Condition: IsDev
    Properties:
      Role: !GetAtt FnRole.Arn
      Environment:
        Variables:
          A: !GetAtt Table.StreamArn
          B: !GetAtt Missing.Arn
          C: !Sub ["${X}-${Table.Arn}-${!Literal}", { X: !Ref Nope }]
          D: !Sub "${Gone.Arn}"
Outputs:
  Name: { Value: !Ref Tabel }
`))
	if err != nil {
		t.Fatal(err)
	}
	broken, unused := References(tmpl)
	var got []string
	for _, e := range broken {
		got = append(got, e.Error())
	}
	want := []string{
		"Fn.Properties.Environment.Variables.B: Fn::GetAtt Missing names no resource",
		"Fn.Properties.Environment.Variables.C.X: Nope names no parameter",
		"Fn.Properties.Environment.Variables.D: Fn::GetAtt Gone names no resource",
		"Fn.DependsOn: Ghost names no resource",
		"Fn.Condition: condition IsDev is not in Conditions",
		"Outputs.Name.Value: Tabel names no parameter",
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(got) != len(want) {
		t.Fatalf("broken references:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("got %q, want %q...", got[i], want[i])
		}
	}
	if !slices.Equal(unused, []string{"Unused"}) {
		t.Errorf("unused parameters = %v, want [Unused]", unused)
	}
}
