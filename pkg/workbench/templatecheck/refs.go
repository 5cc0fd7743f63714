package templatecheck

import (
	"fmt"
	"sort"
	"strings"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// pseudoParameters are the names CloudFormation defines for Ref and Fn::Sub.
var pseudoParameters = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

// References checks every Ref, Fn::GetAtt, Fn::Sub variable, Fn::If and
// Condition name, DependsOn and resource Condition in Globals, Resources,
// Conditions and Outputs: each must name a parameter, a pseudo parameter, a
// resource (or the execution role <Function>Role that SAM generates for a
// function) or a condition. It returns the broken references and the
// parameters nothing references.
func References(t *samtemplate.Template) (broken []error, unusedParams []string) {
	raw := t.Raw()
	params := t.Parameters()
	resources := t.Resources()
	conditions, _ := raw["Conditions"].(map[string]any)
	isResource := func(id string) bool {
		if _, ok := resources[id]; ok {
			return true
		}
		if fn, ok := strings.CutSuffix(id, "Role"); ok {
			return resources[fn].Type == samtemplate.ServerlessFunctionType
		}
		return false
	}
	used := make(map[string]bool)
	name := func(where, n string, vars map[string]any) {
		if _, ok := vars[n]; ok {
			return
		}
		if _, ok := params[n]; ok {
			used[n] = true
			return
		}
		if pseudoParameters[n] || isResource(n) {
			return
		}
		broken = append(broken, fmt.Errorf("%s: %s names no parameter, resource or pseudo parameter", where, n))
	}
	getAtt := func(where, id string) {
		if !isResource(id) {
			broken = append(broken, fmt.Errorf("%s: Fn::GetAtt %s names no resource", where, id))
		}
	}
	cond := func(where string, c any) {
		s, _ := c.(string)
		if _, ok := conditions[s]; !ok {
			broken = append(broken, fmt.Errorf("%s: condition %v is not in Conditions", where, c))
		}
	}
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch x := v.(type) {
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", where, i), e)
			}
		case map[string]any:
			if len(x) == 1 {
				for k, arg := range x {
					switch k {
					case "Ref":
						s, _ := arg.(string)
						name(where, s, nil)
						return
					case "Fn::GetAtt":
						switch a := arg.(type) {
						case []any:
							if len(a) == 2 {
								id, _ := a[0].(string)
								getAtt(where, id)
								walk(where, a[1])
								return
							}
						case string:
							id, _, _ := strings.Cut(a, ".")
							getAtt(where, id)
							return
						}
						broken = append(broken, fmt.Errorf("%s: malformed Fn::GetAtt %v", where, arg))
						return
					case "Fn::Sub":
						format, vars := "", map[string]any(nil)
						switch a := arg.(type) {
						case string:
							format = a
						case []any:
							if len(a) == 2 {
								format, _ = a[0].(string)
								vars, _ = a[1].(map[string]any)
								walk(where, a[1])
							}
						}
						for _, ref := range subVariables(format) {
							if id, _, ok := strings.Cut(ref, "."); ok {
								if _, isVar := vars[ref]; !isVar {
									getAtt(where, id)
								}
								continue
							}
							name(where, ref, vars)
						}
						return
					case "Fn::If":
						if a, ok := arg.([]any); ok && len(a) == 3 {
							cond(where, a[0])
							walk(where, a[1:])
							return
						}
					case "Condition":
						cond(where, arg)
						return
					}
				}
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(where+"."+k, x[k])
			}
		}
	}

	walk("Globals", raw["Globals"])
	walk("Conditions", raw["Conditions"])
	walk("Outputs", raw["Outputs"])
	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	res, _ := raw["Resources"].(map[string]any)
	for _, id := range ids {
		r := res[id].(map[string]any)
		walk(id+".Properties", r["Properties"])
		for _, d := range asList(r["DependsOn"]) {
			if s, _ := d.(string); !isResource(s) {
				broken = append(broken, fmt.Errorf("%s.DependsOn: %v names no resource", id, d))
			}
		}
		if c, ok := r["Condition"]; ok {
			cond(id+".Condition", c)
		}
	}
	for p := range params {
		if !used[p] {
			unusedParams = append(unusedParams, p)
		}
	}
	sort.Strings(unusedParams)
	return broken, unusedParams
}

// subVariables returns the ${Name} and ${Resource.Attr} references of a
// Fn::Sub format string (${!Literal} is not one).
func subVariables(format string) []string {
	var out []string
	for {
		i := strings.Index(format, "${")
		if i < 0 {
			return out
		}
		end := strings.IndexByte(format[i:], '}')
		if end < 0 {
			return out
		}
		name := strings.TrimSpace(format[i+2 : i+end])
		format = format[i+end+1:]
		if !strings.HasPrefix(name, "!") {
			out = append(out, name)
		}
	}
}
