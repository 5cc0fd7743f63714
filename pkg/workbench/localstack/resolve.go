package localstack

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"

	"github.com/keyward/keyward/pkg/workbench/localaws"
)

// Region, Account and StackName are what the local stack reports as its
// AWS pseudo parameters (StackName for keyward's template: protected APIs
// import its exports as <StackName>-AuthorizerFunctionArn, ...; another
// template's stack is named after its directory).
const (
	Region    = localaws.Region
	Account   = localaws.Account
	StackName = "keyward"
)

// refs builds the values that Ref, Fn::GetAtt and Fn::Sub resolve to in a
// local run: the template's parameters, the pseudo parameters, and for each
// resource its physical ID and the attributes functions read (Arn, and a
// table's StreamArn). tables maps table logical IDs to names, streams to
// stream ARNs; kmsKeys maps KMS key logical IDs to ARNs; apis maps API
// logical IDs to their IDs.
func refs(t *samtemplate.Template, stackName string, overrides, tables, streams, kmsKeys, apis map[string]string) map[string]string {
	v := t.ParameterValues(overrides)
	v["AWS::Region"] = Region
	v["AWS::AccountId"] = Account
	v["AWS::Partition"] = "aws"
	v["AWS::StackName"] = stackName
	v["AWS::StackId"] = "arn:aws:cloudformation:" + Region + ":" + Account + ":stack/" + stackName + "/local"
	v["AWS::URLSuffix"] = "amazonaws.com"
	arn := func(service, resource string) string {
		return "arn:aws:" + service + ":" + Region + ":" + Account + ":" + resource
	}
	for id, r := range t.Resources() {
		switch r.Type {
		case samtemplate.TableType:
			name := tables[id]
			if name == "" {
				name = id
			}
			v[id] = name
			v[id+".Arn"] = arn("dynamodb", "table/"+name)
			if s := streams[id]; s != "" {
				v[id+".StreamArn"] = s
			}
		case "AWS::KMS::Key":
			a := kmsKeys[id]
			v[id] = a[strings.LastIndexByte(a, '/')+1:]
			v[id+".Arn"] = a
			v[id+".KeyId"] = v[id]
		case samtemplate.ServerlessFunctionType, "AWS::Lambda::Function":
			v[id] = id
			v[id+".Arn"] = arn("lambda", "function:"+id)
		case samtemplate.ServerlessAPIType, "AWS::ApiGateway::RestApi":
			v[id] = apis[id]
			v[id+".RootResourceId"] = "root"
		case "AWS::SQS::Queue":
			v[id] = "https://sqs." + Region + ".amazonaws.com/" + Account + "/" + id
			v[id+".Arn"] = arn("sqs", id)
			v[id+".QueueName"] = id
			v[id+".QueueUrl"] = v[id]
		case "AWS::SNS::Topic":
			v[id] = arn("sns", id)
			v[id+".TopicArn"] = v[id]
			v[id+".TopicName"] = id
		default:
			v[id] = id
			service := strings.ToLower(strings.Split(r.Type, "::")[min(1, len(strings.Split(r.Type, "::"))-1)])
			v[id+".Arn"] = arn(service, id)
		}
	}
	return v
}

// functionEnv resolves a function's environment variables. Values that
// cannot be resolved locally are left out and reported in skipped.
func functionEnv(f *samtemplate.ServerlessFunction, values map[string]string) (env map[string]string, skipped map[string]error) {
	env, skipped = map[string]string{}, map[string]error{}
	for k, raw := range f.Environment {
		s, err := samtemplate.ResolveString(raw, values)
		if err != nil {
			skipped[k] = err
			continue
		}
		env[k] = s
	}
	return env, skipped
}

// apiID derives a stable, API Gateway-like ID (10 lower-case letters and
// digits) for an API of a stack, so ARNs stay the same across restarts.
func apiID(stackName, logicalID string) string {
	sum := sha256.Sum256([]byte("keyward-local/" + stackName + "/" + logicalID))
	s := new(big.Int).SetBytes(sum[:]).Text(36)
	return s[:10]
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// envList renders a map as KEY=VALUE pairs, sorted.
func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, fmt.Sprintf("%s=%s", k, m[k]))
	}
	return out
}
