package samtemplate

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// loadRepoTemplate loads the repository's template.yaml, found from this
// package's directory the way other packages' tests find it.
func loadRepoTemplate(t *testing.T) *Template {
	t.Helper()
	p, err := Find(".")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.Abs(filepath.Join("..", "..", "..", FileName)); p != want {
		t.Fatalf("Find(.) = %s, want %s", p, want)
	}
	tmpl, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestRepoTemplateKeysTable(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	tables, err := tmpl.DynamoDBTables(nil, WithTableNames(func(id string) string { return id + "-x" }))
	if err != nil {
		t.Fatal(err)
	}
	in, ok := tables["KeysTable"]
	if _, audit := tables["AuditTable"]; !ok || !audit || len(tables) != 2 {
		t.Fatalf("tables = %v, want KeysTable and AuditTable", keys(tables))
	}

	t.Run("NameFromOption", func(t *testing.T) {
		if got, want := aws.ToString(in.TableName), "KeysTable-x"; got != want {
			t.Errorf("TableName = %q, want %q", got, want)
		}
	})
	t.Run("OnDemandWithNewAndOldImageStream", func(t *testing.T) {
		if got, want := in.BillingMode, types.BillingModePayPerRequest; got != want {
			t.Errorf("BillingMode = %q, want %q", got, want)
		}
		if in.ProvisionedThroughput != nil {
			t.Errorf("ProvisionedThroughput = %v, want nil", in.ProvisionedThroughput)
		}
		if s := in.StreamSpecification; s == nil || !aws.ToBool(s.StreamEnabled) || s.StreamViewType != types.StreamViewTypeNewAndOldImages {
			t.Errorf("StreamSpecification = %+v, want enabled NEW_AND_OLD_IMAGES", s)
		}
	})
	t.Run("PrimaryKeyIsPkSk", func(t *testing.T) {
		want := []types.KeySchemaElement{key("pk", types.KeyTypeHash), key("sk", types.KeyTypeRange)}
		if !reflect.DeepEqual(in.KeySchema, want) {
			t.Errorf("KeySchema = %+v", in.KeySchema)
		}
		if got, want := len(in.AttributeDefinitions), 10; got != want {
			t.Errorf("len(AttributeDefinitions) = %d, want %d", got, want)
		}
	})
	t.Run("IndexesShareTheAnchoredProjection", func(t *testing.T) {
		if got, want := len(in.GlobalSecondaryIndexes), 4; got != want {
			t.Fatalf("len(GlobalSecondaryIndexes) = %d, want %d", got, want)
		}
		byTenant, byName := in.GlobalSecondaryIndexes[0], in.GlobalSecondaryIndexes[1]
		if aws.ToString(byTenant.IndexName) != "byTenant" || aws.ToString(byName.IndexName) != "byName" {
			t.Fatalf("index names = %s, %s", aws.ToString(byTenant.IndexName), aws.ToString(byName.IndexName))
		}
		if !reflect.DeepEqual(byTenant.KeySchema, []types.KeySchemaElement{key("gsi1pk", types.KeyTypeHash), key("gsi1sk", types.KeyTypeRange)}) {
			t.Errorf("byTenant KeySchema = %+v", byTenant.KeySchema)
		}
		p := byTenant.Projection
		if p == nil || p.ProjectionType != types.ProjectionTypeInclude || len(p.NonKeyAttributes) != 32 || p.NonKeyAttributes[0] != "id" {
			t.Fatalf("byTenant Projection = %+v, want INCLUDE of 32 attributes starting with id", p)
		}
		if !reflect.DeepEqual(byName.Projection, p) {
			t.Errorf("byName Projection = %+v, want the alias of byTenant's %+v", byName.Projection, p)
		}
		if in.LocalSecondaryIndexes != nil {
			t.Errorf("LocalSecondaryIndexes = %+v, want none", in.LocalSecondaryIndexes)
		}
	})
	t.Run("TTLOnTtl", func(t *testing.T) {
		a, on, err := tmpl.TTLAttribute("KeysTable", nil)
		if err != nil || a != "ttl" || !on {
			t.Errorf("TTLAttribute = %q, %v, %v; want ttl, true", a, on, err)
		}
	})
	t.Run("SSEKeepsItsIntrinsic", func(t *testing.T) {
		sse := tmpl.Resources()["KeysTable"].Properties["SSESpecification"].(map[string]any)
		want := map[string]any{"Fn::GetAtt": []any{"KeywardKey", "Arn"}}
		if !reflect.DeepEqual(sse["KMSMasterKeyId"], want) {
			t.Errorf("KMSMasterKeyId = %#v, want %#v", sse["KMSMasterKeyId"], want)
		}
	})
}

func TestRepoTemplateFunctionEnvironment(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	vars := lookup(t, tmpl.Raw(), "Globals", "Function", "Environment", "Variables").(map[string]any)
	params := tmpl.ParameterValues(map[string]string{
		"KeysTable":      "KeysTable-dev",
		"KeywardKey.Arn": "arn:aws:kms:us-east-1:000000000000:key/local",
	})
	// Every variable resolves once resources' values are supplied.
	for name, v := range vars {
		if _, err := ResolveString(v, params); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	want := map[string]string{
		"KEYS_TABLE":             "KeysTable-dev",
		"KMS_KEY_ID":             "arn:aws:kms:us-east-1:000000000000:key/local",
		"TOKEN_PREFIX":           "kw",
		"KEY_TYPES":              "",
		"REVOKED_RETENTION_DAYS": "90",
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			got, err := ResolveString(vars[name], params)
			if err != nil || got != w {
				t.Errorf("%s = %q, %v; want %q", name, got, err, w)
			}
		})
	}
	t.Run("ParameterDefaults", func(t *testing.T) {
		ps := tmpl.Parameters()
		if got, want := ps["LogLevel"].AllowedValues, []string{"DEBUG", "INFO", "WARN", "ERROR"}; !reflect.DeepEqual(got, want) {
			t.Errorf("LogLevel AllowedValues = %v, want %v", got, want)
		}
		if p := ps["KeyTypes"]; !p.HasDefault || p.Default != "" {
			t.Errorf("KeyTypes = %+v, want an empty default", p)
		}
	})
	t.Run("FormatVersionStaysAString", func(t *testing.T) {
		if got := tmpl.Raw()["AWSTemplateFormatVersion"]; got != "2010-09-09" {
			t.Errorf("AWSTemplateFormatVersion = %#v", got)
		}
	})
}
