package samtemplate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableType is the CloudFormation type of a DynamoDB table.
const TableType = "AWS::DynamoDB::Table"

// TableOption adjusts how DynamoDBTables builds its inputs.
type TableOption func(*tableConfig)

type tableConfig struct {
	name func(logicalID string) string
}

// WithTableNames names the tables whose TableName property is absent or not a
// plain string (an intrinsic such as !Sub "${AWS::StackName}-keys"). Without
// it such a table is named after its logical ID. Tests pass a function adding
// a unique suffix so that each test gets tables of its own; a template that
// hard-codes TableName opts out of that.
func WithTableNames(name func(logicalID string) string) TableOption {
	return func(c *tableConfig) { c.name = name }
}

// DynamoDBTables converts every AWS::DynamoDB::Table resource into the
// CreateTable input that builds the same table, keyed by logical ID.
//
// params supplies values for Ref/Fn::Sub inside the table properties; the
// template's parameter defaults are used for names it does not set.
//
// Applied: TableName, AttributeDefinitions, KeySchema, BillingMode (the
// CloudFormation default is PROVISIONED), ProvisionedThroughput,
// GlobalSecondaryIndexes and LocalSecondaryIndexes (with Projection and
// throughput), StreamSpecification. TimeToLiveSpecification cannot be part of
// CreateTable: read it with TTLAttribute and call UpdateTimeToLive.
//
// Not applied, and never evaluated, so intrinsics inside them are fine:
// SSESpecification and PointInTimeRecoverySpecification (DynamoDB Local
// neither encrypts with KMS nor keeps backups, and a local run has no KMS key
// to point at), DeletionProtectionEnabled (it would stop tests from deleting
// their tables), TableClass, Tags, ContributorInsightsSpecification,
// KinesisStreamSpecification, ImportSourceSpecification, ResourcePolicy,
// OnDemandThroughput and WarmThroughput (service-side features). Resource
// Conditions are not evaluated either: every table is returned.
func (t *Template) DynamoDBTables(params map[string]string, opts ...TableOption) (map[string]*dynamodb.CreateTableInput, error) {
	cfg := tableConfig{name: func(id string) string { return id }}
	for _, o := range opts {
		o(&cfg)
	}
	c := converter{params: t.ParameterValues(params)}
	out := make(map[string]*dynamodb.CreateTableInput)
	for id, r := range t.ResourcesOfType(TableType) {
		in, err := c.table(id, r.Properties, cfg.name)
		if err != nil {
			return nil, fmt.Errorf("samtemplate: table %s: %w", id, err)
		}
		out[id] = in
	}
	return out, nil
}

// TTLAttribute returns the attribute that the table logicalID's
// TimeToLiveSpecification names, and whether TTL is enabled on it. A table
// without the specification yields "", false.
func (t *Template) TTLAttribute(logicalID string, params map[string]string) (attr string, enabled bool, err error) {
	r, ok := t.Resources()[logicalID]
	if !ok || r.Type != TableType {
		return "", false, fmt.Errorf("samtemplate: no %s named %s", TableType, logicalID)
	}
	spec, ok := r.Properties["TimeToLiveSpecification"]
	if !ok || spec == nil {
		return "", false, nil
	}
	c := converter{params: t.ParameterValues(params)}
	m, err := c.obj(spec, "TimeToLiveSpecification")
	if err == nil {
		attr, err = c.optStr(m, "AttributeName", "TimeToLiveSpecification")
	}
	if err == nil {
		enabled, err = c.boolean(m["Enabled"], "TimeToLiveSpecification.Enabled")
	}
	if err != nil {
		return "", false, fmt.Errorf("samtemplate: table %s: %w", logicalID, err)
	}
	if enabled && attr == "" {
		return "", false, fmt.Errorf("samtemplate: table %s: TimeToLiveSpecification enabled without AttributeName", logicalID)
	}
	return attr, enabled, nil
}

// converter reads table properties, resolving simple intrinsics from params.
type converter struct {
	params map[string]string
}

func (c converter) table(id string, p map[string]any, nameFor func(string) string) (*dynamodb.CreateTableInput, error) {
	in := &dynamodb.CreateTableInput{}
	if name, ok := p["TableName"].(string); ok && name != "" {
		in.TableName = aws.String(name)
	} else {
		in.TableName = aws.String(nameFor(id))
	}
	var err error
	if in.AttributeDefinitions, err = c.attributes(p["AttributeDefinitions"]); err != nil {
		return nil, err
	}
	if in.KeySchema, err = c.keySchema(p["KeySchema"], "KeySchema"); err != nil {
		return nil, err
	}
	mode, err := c.optStr(p, "BillingMode", "")
	if err != nil {
		return nil, err
	}
	if mode == "" {
		mode = string(types.BillingModeProvisioned)
	}
	in.BillingMode = types.BillingMode(mode)
	provisioned := in.BillingMode == types.BillingModeProvisioned
	if provisioned {
		if in.ProvisionedThroughput, err = c.throughput(p["ProvisionedThroughput"], "ProvisionedThroughput"); err != nil {
			return nil, err
		}
	}
	if in.GlobalSecondaryIndexes, err = c.globalIndexes(p["GlobalSecondaryIndexes"], provisioned); err != nil {
		return nil, err
	}
	if in.LocalSecondaryIndexes, err = c.localIndexes(p["LocalSecondaryIndexes"]); err != nil {
		return nil, err
	}
	if in.StreamSpecification, err = c.stream(p["StreamSpecification"]); err != nil {
		return nil, err
	}
	return in, nil
}

func (c converter) attributes(v any) ([]types.AttributeDefinition, error) {
	attrs, err := c.list(v, "AttributeDefinitions")
	if err != nil {
		return nil, err
	}
	var out []types.AttributeDefinition
	for i, a := range attrs {
		path := fmt.Sprintf("AttributeDefinitions[%d]", i)
		m, err := c.obj(a, path)
		if err != nil {
			return nil, err
		}
		name, err := c.reqStr(m, "AttributeName", path)
		if err != nil {
			return nil, err
		}
		typ, err := c.reqStr(m, "AttributeType", path)
		if err != nil {
			return nil, err
		}
		out = append(out, types.AttributeDefinition{
			AttributeName: aws.String(name),
			AttributeType: types.ScalarAttributeType(typ),
		})
	}
	return out, nil
}

// index reads what global and local secondary indexes share: the name, the
// key schema and the projection.
func (c converter) index(x any, path string) (m map[string]any, name *string, ks []types.KeySchemaElement, proj *types.Projection, err error) {
	if m, err = c.obj(x, path); err != nil {
		return nil, nil, nil, nil, err
	}
	if name, err = c.reqStrPtr(m, "IndexName", path); err != nil {
		return nil, nil, nil, nil, err
	}
	if ks, err = c.keySchema(m["KeySchema"], path+".KeySchema"); err != nil {
		return nil, nil, nil, nil, err
	}
	if proj, err = c.projection(m["Projection"], path+".Projection"); err != nil {
		return nil, nil, nil, nil, err
	}
	return m, name, ks, proj, nil
}

func (c converter) globalIndexes(v any, provisioned bool) ([]types.GlobalSecondaryIndex, error) {
	if v == nil {
		return nil, nil
	}
	idx, err := c.list(v, "GlobalSecondaryIndexes")
	if err != nil {
		return nil, err
	}
	var out []types.GlobalSecondaryIndex
	for i, x := range idx {
		path := fmt.Sprintf("GlobalSecondaryIndexes[%d]", i)
		m, name, ks, proj, err := c.index(x, path)
		if err != nil {
			return nil, err
		}
		g := types.GlobalSecondaryIndex{IndexName: name, KeySchema: ks, Projection: proj}
		if provisioned {
			if g.ProvisionedThroughput, err = c.throughput(m["ProvisionedThroughput"], path+".ProvisionedThroughput"); err != nil {
				return nil, err
			}
		}
		out = append(out, g)
	}
	return out, nil
}

func (c converter) localIndexes(v any) ([]types.LocalSecondaryIndex, error) {
	if v == nil {
		return nil, nil
	}
	idx, err := c.list(v, "LocalSecondaryIndexes")
	if err != nil {
		return nil, err
	}
	var out []types.LocalSecondaryIndex
	for i, x := range idx {
		_, name, ks, proj, err := c.index(x, fmt.Sprintf("LocalSecondaryIndexes[%d]", i))
		if err != nil {
			return nil, err
		}
		out = append(out, types.LocalSecondaryIndex{IndexName: name, KeySchema: ks, Projection: proj})
	}
	return out, nil
}

func (c converter) stream(v any) (*types.StreamSpecification, error) {
	if v == nil {
		return nil, nil
	}
	m, err := c.obj(v, "StreamSpecification")
	if err != nil {
		return nil, err
	}
	view, err := c.reqStr(m, "StreamViewType", "StreamSpecification")
	if err != nil {
		return nil, err
	}
	return &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(view)}, nil
}

func (c converter) keySchema(v any, path string) ([]types.KeySchemaElement, error) {
	elems, err := c.list(v, path)
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	out := make([]types.KeySchemaElement, 0, len(elems))
	for i, e := range elems {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, err := c.obj(e, p)
		if err != nil {
			return nil, err
		}
		name, err := c.reqStr(m, "AttributeName", p)
		if err != nil {
			return nil, err
		}
		kt, err := c.reqStr(m, "KeyType", p)
		if err != nil {
			return nil, err
		}
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(name), KeyType: types.KeyType(kt)})
	}
	return out, nil
}

func (c converter) projection(v any, path string) (*types.Projection, error) {
	m, err := c.obj(v, path)
	if err != nil {
		return nil, err
	}
	pt, err := c.optStr(m, "ProjectionType", path)
	if err != nil {
		return nil, err
	}
	p := &types.Projection{}
	if pt != "" {
		p.ProjectionType = types.ProjectionType(pt)
	}
	if nk, ok := m["NonKeyAttributes"]; ok && nk != nil {
		list, err := c.list(nk, path+".NonKeyAttributes")
		if err != nil {
			return nil, err
		}
		for i, a := range list {
			s, err := c.str(a, fmt.Sprintf("%s.NonKeyAttributes[%d]", path, i))
			if err != nil {
				return nil, err
			}
			p.NonKeyAttributes = append(p.NonKeyAttributes, s)
		}
	}
	return p, nil
}

func (c converter) throughput(v any, path string) (*types.ProvisionedThroughput, error) {
	if v == nil {
		return nil, fmt.Errorf("%s is required with BillingMode PROVISIONED", path)
	}
	m, err := c.obj(v, path)
	if err != nil {
		return nil, err
	}
	var units [2]int64
	for i, k := range []string{"ReadCapacityUnits", "WriteCapacityUnits"} {
		s, err := c.reqStr(m, k, path)
		if err != nil {
			return nil, err
		}
		if units[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("%s.%s: %q is not an integer", path, k, s)
		}
	}
	return &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(units[0]), WriteCapacityUnits: aws.Int64(units[1])}, nil
}

func (c converter) str(v any, path string) (string, error) {
	s, err := ResolveString(v, c.params)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (c converter) optStr(m map[string]any, key, path string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	return c.str(v, join(path, key))
}

func (c converter) reqStr(m map[string]any, key, path string) (string, error) {
	s, err := c.optStr(m, key, path)
	if err == nil && s == "" {
		err = fmt.Errorf("%s is required", join(path, key))
	}
	return s, err
}

func (c converter) reqStrPtr(m map[string]any, key, path string) (*string, error) {
	s, err := c.reqStr(m, key, path)
	if err != nil {
		return nil, err
	}
	return aws.String(s), nil
}

func (c converter) boolean(v any, path string) (bool, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	if v == nil {
		return false, nil
	}
	s, err := c.str(v, path)
	if err != nil {
		return false, err
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not a boolean", path, s)
	}
	return b, nil
}

func (c converter) list(v any, path string) ([]any, error) {
	if v == nil {
		return nil, fmt.Errorf("%s is required", path)
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: expected a list, got %s", path, describe(v))
	}
	return l, nil
}

func (c converter) obj(v any, path string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok || isIntrinsic(m) {
		return nil, fmt.Errorf("%s: expected a mapping, got %s", path, describe(v))
	}
	return m, nil
}

// isIntrinsic reports whether m is a long-form intrinsic function call.
func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
