package templatecheck

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// Statement is one Allow statement of a function's inline policies.
type Statement struct {
	Sid     string
	Actions []string
	// Resources are rendered as text: a plain ARN, "${Table.Arn}" for
	// Fn::GetAtt, "${Name}" for Ref, a Fn::Sub's format string, a
	// Fn::Join's parts joined.
	Resources []string
}

// Policies reads the Allow statements of a function's Policies. Only inline
// policy documents ({Statement: [...]}) can be checked, so a managed policy,
// a SAM policy template, a Role, NotAction or NotResource is an error.
func Policies(props map[string]any) ([]Statement, []error) {
	var errs []error
	if _, ok := props["Role"]; ok {
		errs = append(errs, fmt.Errorf("sets Role: write the function's permissions as inline Policies so they can be checked"))
	}
	var docs []any
	switch p := props["Policies"].(type) {
	case nil:
	case []any:
		docs = p
	default:
		docs = []any{p}
	}
	var out []Statement
	for i, d := range docs {
		m, ok := d.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("managed policy %v (Policies[%d]): write its statements inline so least privilege can be checked", d, i))
			continue
		}
		stmts, ok := m["Statement"]
		if !ok {
			names := make([]string, 0, len(m))
			for k := range m {
				names = append(names, k)
			}
			sort.Strings(names)
			errs = append(errs, fmt.Errorf("SAM policy template %v (Policies[%d]): write its statements inline so least privilege can be checked", names, i))
			continue
		}
		list, ok := stmts.([]any)
		if !ok {
			list = []any{stmts}
		}
		for j, s := range list {
			st, err := statement(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("statement %d of Policies[%d]: %w", j, i, err))
				continue
			}
			if st != nil {
				out = append(out, *st)
			}
		}
	}
	return out, errs
}

func statement(v any) (*Statement, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a mapping")
	}
	for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
		if _, ok := m[k]; ok {
			return nil, fmt.Errorf("uses %s, which grants everything else", k)
		}
	}
	switch m["Effect"] {
	case "Allow":
	case "Deny":
		return nil, nil
	default:
		return nil, fmt.Errorf("effect %v is neither Allow nor Deny", m["Effect"])
	}
	st := &Statement{}
	st.Sid, _ = m["Sid"].(string)
	for _, a := range asList(m["Action"]) {
		s, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("action %v is not a plain string", a)
		}
		st.Actions = append(st.Actions, s)
	}
	if len(st.Actions) == 0 {
		return nil, fmt.Errorf("no Action")
	}
	for _, r := range asList(m["Resource"]) {
		st.Resources = append(st.Resources, renderResource(r))
	}
	if len(st.Resources) == 0 {
		return nil, fmt.Errorf("no Resource")
	}
	return st, nil
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// renderResource renders a Resource value as text (see Statement).
func renderResource(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if id, attr, ok := samtemplate.RefTarget(x); ok {
			if attr != "" {
				return "${" + id + "." + attr + "}"
			}
			return "${" + id + "}"
		}
		if sub, ok := x["Fn::Sub"]; ok {
			switch s := sub.(type) {
			case string:
				return s
			case []any:
				if len(s) > 0 {
					if f, ok := s[0].(string); ok {
						return f
					}
				}
			}
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			if sep, ok := j[0].(string); ok {
				var parts []string
				for _, p := range asList(j[1]) {
					parts = append(parts, renderResource(p))
				}
				return strings.Join(parts, sep)
			}
		}
	}
	return fmt.Sprintf("%v", v)
}

// Need is an IAM action a function's code needs, and why.
type Need struct {
	Action string
	// Op is the SDK operation calling for it; Site where it is called.
	Op   Op
	Site Site
}

// apigatewayVerbs maps the prefix of an API Gateway management operation to
// the HTTP verb IAM authorizes it as (apigateway:<VERB> on the resource
// path).
var apigatewayVerbs = []struct{ prefix, verb string }{
	{"Get", "GET"},
	{"Create", "POST"},
	{"Put", "PUT"},
	{"Import", "PUT"},
	{"Update", "PATCH"},
	{"Delete", "DELETE"},
	{"Flush", "DELETE"},
	{"Reset", "DELETE"},
}

// iamPrefixes maps an SDK service package to its IAM action prefix, where
// operations are authorized by an action of the same name.
var iamPrefixes = map[string]string{
	"dynamodb":        "dynamodb",
	"dynamodbstreams": "dynamodb",
	"kms":             "kms",
	"sqs":             "sqs",
	"sns":             "sns",
	"lambda":          "lambda",
	"cloudwatch":      "cloudwatch",
	"cloudwatchlogs":  "logs",
	"eventbridge":     "events",
	"xray":            "xray",
	"sts":             "sts",
	"s3":              "s3",
	"secretsmanager":  "secretsmanager",
	"ssm":             "ssm",
}

// transactActions maps a TransactWriteItem field to the action IAM checks
// for it: TransactWriteItems is not an IAM action itself.
var transactActions = map[string]string{
	"Put":            "dynamodb:PutItem",
	"Update":         "dynamodb:UpdateItem",
	"Delete":         "dynamodb:DeleteItem",
	"ConditionCheck": "dynamodb:ConditionCheckItem",
}

// RequiredActions maps the SDK operations of u to the IAM actions they need:
//
//   - dynamodb and dynamodbstreams operations need dynamodb:<Op>, except
//     TransactWriteItems, which IAM authorizes item by item: it needs
//     PutItem, UpdateItem, DeleteItem or ConditionCheckItem for each kind of
//     TransactWriteItem the reachable code builds (Put, Update, Delete,
//     ConditionCheck), or all four when none is seen; and TransactGetItems,
//     which needs GetItem;
//   - apigateway operations need apigateway:<HTTP verb> (GET for Get*, POST
//     for Create*, PUT for Put*/Import*, PATCH for Update*, DELETE for
//     Delete* and Flush*, so FlushStageAuthorizersCache needs
//     apigateway:DELETE);
//   - kms, sqs, sns and the other services of iamPrefixes need
//     <prefix>:<Op>.
//
// An operation of a service without a rule is an error.
func RequiredActions(u *Usage) ([]Need, []error) {
	var (
		needs []Need
		errs  []error
	)
	ops := make([]Op, 0, len(u.Ops))
	for op := range u.Ops {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	for _, op := range ops {
		site := u.Ops[op]
		add := func(action string) { needs = append(needs, Need{Action: action, Op: op, Site: site}) }
		switch {
		case op.Service == "dynamodb" && op.Name == "TransactWriteItems":
			if len(u.TransactWrites) == 0 {
				for _, a := range transactActions {
					add(a)
				}
				continue
			}
			for kind, s := range u.TransactWrites {
				if a, ok := transactActions[kind]; ok {
					needs = append(needs, Need{Action: a, Op: op, Site: s})
				}
			}
		case op.Service == "dynamodb" && op.Name == "TransactGetItems":
			add("dynamodb:GetItem")
		case op.Service == "apigateway", op.Service == "apigatewayv2": // both are apigateway:<HTTP verb>
			verb := ""
			for _, v := range apigatewayVerbs {
				if strings.HasPrefix(op.Name, v.prefix) {
					verb = v.verb
					break
				}
			}
			if verb == "" {
				errs = append(errs, fmt.Errorf("%s at %s: no rule maps this API Gateway operation to an HTTP verb; add one to apigatewayVerbs", op, site))
				continue
			}
			add("apigateway:" + verb)
		default:
			prefix, ok := iamPrefixes[op.Service]
			if !ok {
				errs = append(errs, fmt.Errorf("%s at %s: no rule maps service %s to IAM actions; add it to iamPrefixes", op, site, op.Service))
				continue
			}
			add(prefix + ":" + op.Name)
		}
	}
	sort.SliceStable(needs, func(i, j int) bool { return needs[i].Action < needs[j].Action })
	return needs, errs
}

// anyResourceActions are the actions IAM cannot scope to a resource, the
// only ones a statement may grant on Resource "*".
var anyResourceActions = map[string]bool{
	"xray:PutTraceSegments":    true,
	"xray:PutTelemetryRecords": true,
	"xray:GetSamplingRules":    true,
	"xray:GetSamplingTargets":  true,
	"cloudwatch:PutMetricData": true,
}

// EventSourceActions returns the actions a function may hold although its
// code never calls them, because the Lambda service uses the function's role
// for its event sources: reading a DynamoDB or Kinesis stream
// (DescribeStream, GetRecords, GetShardIterator, ListStreams, and
// kms:Decrypt for a stream of a table encrypted with a customer managed key)
// and sending failed batches to the OnFailure destination (sqs:SendMessage
// or sns:Publish). SAM adds most of these itself; a template may still state
// them.
func EventSourceActions(f *samtemplate.ServerlessFunction) map[string]bool {
	out := make(map[string]bool)
	for _, e := range f.StreamEvents {
		if e.Type == "DynamoDB" {
			for _, a := range []string{"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"} {
				out["dynamodb:"+a] = true
			}
		} else {
			for _, a := range []string{"DescribeStream", "DescribeStreamSummary", "GetRecords", "GetShardIterator", "ListShards", "ListStreams", "SubscribeToShard"} {
				out["kinesis:"+a] = true
			}
		}
		out["kms:Decrypt"] = true
		if e.OnFailure != nil {
			out["sqs:SendMessage"] = true
			out["sns:Publish"] = true
		}
	}
	return out
}

// CheckPolicies compares a function's Allow statements with what its code
// needs (needs, and whether it reads a secondary index) and what its event
// sources use (extra). It reports every needed action not granted, every
// granted action neither needed nor in extra, and anything broader than
// needed: wildcard actions, dynamodb:Scan, Resource "*" (except for
// anyResourceActions), wildcard resources, and index resources when the
// code reads no index.
//
// Two wildcards are accepted: a table's "/index/*" and "/stream/*", and the
// API ID and stage in apigateway:DELETE on
// arn:…:apigateway:<region>::/restapis/*/stages/*/cache/authorizers and
// …::/apis/*/stages/*/cache/authorizers (FlushStageAuthorizersCache and
// ResetAuthorizersCache, which delete nothing but cached authorizer
// answers): the flush function flushes every stage of every protected API
// that attaches the authorizer, which the template cannot list; and a
// function cannot name its own API there:
// the API's definition refers to the function's ARN, the function to its
// role, so a role policy naming the API is a circular dependency. (A
// separate AWS::IAM::Policy attached to the role would break the cycle;
// testdata/schema has no schema for that type.)
func CheckPolicies(stmts []Statement, needs []Need, readsIndex bool, extra map[string]bool) []error {
	var errs []error
	granted := make(map[string]string) // lower case → as written
	indexGranted := false
	for _, st := range stmts {
		name := st.Sid
		if name == "" {
			name = strings.Join(st.Actions, ",")
		}
		anyResource := false
		for _, r := range st.Resources {
			switch {
			case r == "*":
				anyResource = true
			case strings.Contains(r, "/index/"):
				indexGranted = indexGranted || hasAction(st, "dynamodb:Query", "dynamodb:Scan")
				if strings.Contains(strings.TrimSuffix(r, "/index/*"), "*") {
					errs = append(errs, fmt.Errorf("statement %s: resource %s has a wildcard", name, r))
				}
			case strings.HasSuffix(r, "/stream/*"):
				if strings.Contains(strings.TrimSuffix(r, "/stream/*"), "*") {
					errs = append(errs, fmt.Errorf("statement %s: resource %s has a wildcard", name, r))
				}
			case flushAnyAPI.MatchString(r) && onlyActions(st, "apigateway:DELETE"):
				// The API depends on the function: see CheckPolicies.
			case strings.Contains(r, "*"):
				errs = append(errs, fmt.Errorf("statement %s: resource %s has a wildcard", name, r))
			}
		}
		for _, a := range st.Actions {
			switch {
			case strings.Contains(a, "*"):
				errs = append(errs, fmt.Errorf("statement %s: action %s is a wildcard", name, a))
			case strings.EqualFold(a, "dynamodb:Scan"):
				errs = append(errs, fmt.Errorf("statement %s: dynamodb:Scan is never needed (Query, never Scan)", name))
			}
			if anyResource && !anyResourceActions[a] {
				errs = append(errs, fmt.Errorf("statement %s: %s on Resource \"*\"; name the resources (only %v may use \"*\")", name, a, sortedKeys(anyResourceActions)))
			}
			if _, ok := granted[strings.ToLower(a)]; !ok {
				granted[strings.ToLower(a)] = a
			}
		}
	}
	// IAM action names are case-insensitive.
	needed := make(map[string]bool)
	for _, n := range needs {
		key := strings.ToLower(n.Action)
		needed[key] = true
		if _, ok := granted[key]; !ok {
			errs = append(errs, fmt.Errorf("%s is not granted; the code calls %s at %s", n.Action, n.Op, n.Site))
			granted[key] = n.Action // report each action once
		}
	}
	if readsIndex && !indexGranted {
		errs = append(errs, fmt.Errorf("the code queries a secondary index, but no statement grants dynamodb:Query on a <table>/index/* resource"))
	}
	if !readsIndex && indexGranted {
		errs = append(errs, fmt.Errorf("a statement grants access to a secondary index, but the code queries none"))
	}
	lowerExtra := make(map[string]bool)
	for a := range extra {
		lowerExtra[strings.ToLower(a)] = true
	}
	keys := make([]string, 0, len(granted))
	for k := range granted {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !needed[k] && !lowerExtra[k] {
			errs = append(errs, fmt.Errorf("%s is granted but the code never calls it (nor does an event source need it)", granted[k]))
		}
	}
	return errs
}

// flushAnyAPI is the authorizer cache of a named stage of any REST API.
var flushAnyAPI = regexp.MustCompile(`^arn:(\$\{AWS::Partition\}|[a-z-]+):apigateway:(\$\{AWS::Region\}|[a-z0-9-]+)::/(restapis|apis)/\*/stages/([^*/]+|\*)/cache/authorizers$`)

func onlyActions(st Statement, actions ...string) bool {
	for _, a := range st.Actions {
		if !hasAction(Statement{Actions: actions}, a) {
			return false
		}
	}
	return true
}

func hasAction(st Statement, actions ...string) bool {
	for _, a := range st.Actions {
		for _, b := range actions {
			if strings.EqualFold(a, b) {
				return true
			}
		}
	}
	return false
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
