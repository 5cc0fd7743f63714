package samtemplate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const tablesTemplate = `
Parameters:
  Reads: {Type: Number, Default: 5}
  Env: {Type: String, Default: dev}
Resources:
  Key:
    Type: AWS::KMS::Key
  OnDemand:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: g, AttributeType: N}
        - {AttributeName: l, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: byG
          KeySchema: [{AttributeName: g, KeyType: HASH}]
          Projection: &proj
            ProjectionType: INCLUDE
            NonKeyAttributes: [a, b]
        - IndexName: byG2
          KeySchema: [{AttributeName: g, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
          Projection: *proj
      LocalSecondaryIndexes:
        - IndexName: byL
          KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: l, KeyType: RANGE}]
          Projection: {ProjectionType: KEYS_ONLY}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
      TimeToLiveSpecification: {AttributeName: expires, Enabled: true}
      SSESpecification:
        SSEEnabled: true
        SSEType: KMS
        KMSMasterKeyId: !GetAtt Key.Arn
      PointInTimeRecoverySpecification:
        PointInTimeRecoveryEnabled: !If [IsProd, true, false]
      Tags: [{Key: env, Value: !Ref Env}]
  Provisioned:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: fixed-name
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}, {AttributeName: g, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      ProvisionedThroughput: {ReadCapacityUnits: !Ref Reads, WriteCapacityUnits: 2}
      GlobalSecondaryIndexes:
        - IndexName: byG
          KeySchema: [{AttributeName: g, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
          ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: false}
  Named:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-named"
      BillingMode: !Ref Mode
      AttributeDefinitions: [{AttributeName: id, AttributeType: !Ref IdType}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
`

func key(name string, kt types.KeyType) types.KeySchemaElement {
	return types.KeySchemaElement{AttributeName: aws.String(name), KeyType: kt}
}

func attr(name string, at types.ScalarAttributeType) types.AttributeDefinition {
	return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: at}
}

func TestDynamoDBTables(t *testing.T) {
	tmpl := mustParse(t, tablesTemplate)
	got, err := tmpl.DynamoDBTables(
		map[string]string{"Reads": "7", "Mode": "PAY_PER_REQUEST", "IdType": "B"},
		WithTableNames(func(id string) string { return id + "-test1" }),
	)
	if err != nil {
		t.Fatalf("DynamoDBTables: %v", err)
	}
	proj := &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"a", "b"}}
	want := map[string]*dynamodb.CreateTableInput{
		"OnDemand": {
			TableName:   aws.String("OnDemand-test1"),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				attr("pk", types.ScalarAttributeTypeS), attr("sk", types.ScalarAttributeTypeS),
				attr("g", types.ScalarAttributeTypeN), attr("l", types.ScalarAttributeTypeS),
			},
			KeySchema: []types.KeySchemaElement{key("pk", types.KeyTypeHash), key("sk", types.KeyTypeRange)},
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				{IndexName: aws.String("byG"), KeySchema: []types.KeySchemaElement{key("g", types.KeyTypeHash)}, Projection: proj},
				{IndexName: aws.String("byG2"), KeySchema: []types.KeySchemaElement{key("g", types.KeyTypeHash), key("sk", types.KeyTypeRange)}, Projection: proj},
			},
			LocalSecondaryIndexes: []types.LocalSecondaryIndex{
				{IndexName: aws.String("byL"), KeySchema: []types.KeySchemaElement{key("pk", types.KeyTypeHash), key("l", types.KeyTypeRange)}, Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}},
			},
			StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
		},
		"Provisioned": {
			TableName:             aws.String("fixed-name"),
			BillingMode:           types.BillingModeProvisioned,
			AttributeDefinitions:  []types.AttributeDefinition{attr("id", types.ScalarAttributeTypeS), attr("g", types.ScalarAttributeTypeS)},
			KeySchema:             []types.KeySchemaElement{key("id", types.KeyTypeHash)},
			ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(7), WriteCapacityUnits: aws.Int64(2)},
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
				IndexName:             aws.String("byG"),
				KeySchema:             []types.KeySchemaElement{key("g", types.KeyTypeHash)},
				Projection:            &types.Projection{ProjectionType: types.ProjectionTypeAll},
				ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)},
			}},
		},
		"Named": {
			TableName:            aws.String("Named-test1"),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{attr("id", types.ScalarAttributeTypeB)},
			KeySchema:            []types.KeySchemaElement{key("id", types.KeyTypeHash)},
		},
	}
	if len(got) != len(want) {
		t.Errorf("got tables %v, want %d", keys(got), len(want))
	}
	for id, w := range want {
		t.Run(id, func(t *testing.T) {
			if g := got[id]; !reflect.DeepEqual(g, w) {
				t.Errorf("table %s =\n%#v\nwant\n%#v", id, g, w)
			}
		})
	}
	t.Run("DefaultNameIsLogicalID", func(t *testing.T) {
		got, err := tmpl.DynamoDBTables(map[string]string{"Mode": "PAY_PER_REQUEST", "IdType": "S"})
		if err != nil {
			t.Fatal(err)
		}
		if n := aws.ToString(got["OnDemand"].TableName); n != "OnDemand" {
			t.Errorf("TableName = %q, want OnDemand", n)
		}
		if r := aws.ToInt64(got["Provisioned"].ProvisionedThroughput.ReadCapacityUnits); r != 5 {
			t.Errorf("ReadCapacityUnits = %d, want the parameter default 5", r)
		}
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDynamoDBTablesRejects(t *testing.T) {
	const head = "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
	tests := []struct {
		name, props, wantErr string
	}{
		{"MissingKeySchema", "      BillingMode: PAY_PER_REQUEST\n      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n", "KeySchema is required"},
		{"MissingAttributeDefinitions", "      BillingMode: PAY_PER_REQUEST\n      KeySchema: [{AttributeName: id, KeyType: HASH}]\n", "AttributeDefinitions is required"},
		{"ProvisionedWithoutThroughput", "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      KeySchema: [{AttributeName: id, KeyType: HASH}]\n", "ProvisionedThroughput is required"},
		{"UnresolvableBillingMode", "      BillingMode: !If [C, PROVISIONED, PAY_PER_REQUEST]\n      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      KeySchema: [{AttributeName: id, KeyType: HASH}]\n", "BillingMode: cannot resolve intrinsic Fn::If"},
		{"IndexesFromCondition", "      BillingMode: PAY_PER_REQUEST\n      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      KeySchema: [{AttributeName: id, KeyType: HASH}]\n      GlobalSecondaryIndexes: !If [C, [], []]\n", "GlobalSecondaryIndexes: expected a list, got intrinsic Fn::If"},
		{"IndexWithoutProjection", "      BillingMode: PAY_PER_REQUEST\n      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      KeySchema: [{AttributeName: id, KeyType: HASH}]\n      GlobalSecondaryIndexes: [{IndexName: i, KeySchema: [{AttributeName: id, KeyType: HASH}]}]\n", "GlobalSecondaryIndexes[0].Projection: expected a mapping"},
		{"NonIntegerCapacity", "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      KeySchema: [{AttributeName: id, KeyType: HASH}]\n      ProvisionedThroughput: {ReadCapacityUnits: lots, WriteCapacityUnits: 1}\n", `"lots" is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := mustParse(t, head+tt.props)
			_, err := tmpl.DynamoDBTables(nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "table T") {
				t.Fatalf("DynamoDBTables error = %v, want one about table T containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestTTLAttribute(t *testing.T) {
	tmpl := mustParse(t, tablesTemplate+`
  RefTTL:
    Type: AWS::DynamoDB::Table
    Properties:
      TimeToLiveSpecification: {AttributeName: !Ref TTLAttr, Enabled: !Ref TTLOn}
  BadTTL:
    Type: AWS::DynamoDB::Table
    Properties:
      TimeToLiveSpecification: {Enabled: true}
`)
	params := map[string]string{"TTLAttr": "exp", "TTLOn": "true"}
	tests := []struct {
		id          string
		wantAttr    string
		wantEnabled bool
		wantErr     string
	}{
		{"OnDemand", "expires", true, ""},
		{"Provisioned", "ttl", false, ""},
		{"Named", "", false, ""},
		{"RefTTL", "exp", true, ""},
		{"BadTTL", "", false, "without AttributeName"},
		{"Key", "", false, "no AWS::DynamoDB::Table named Key"},
		{"Missing", "", false, "no AWS::DynamoDB::Table named Missing"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			a, on, err := tmpl.TTLAttribute(tt.id, params)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("TTLAttribute(%s) error = %v, want %q", tt.id, err, tt.wantErr)
				}
				return
			}
			if err != nil || a != tt.wantAttr || on != tt.wantEnabled {
				t.Fatalf("TTLAttribute(%s) = %q, %v, %v; want %q, %v", tt.id, a, on, err, tt.wantAttr, tt.wantEnabled)
			}
		})
	}
}
