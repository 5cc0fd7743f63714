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
	c := &refChecker{params: t.Parameters(), resources: t.Resources(), used: map[string]bool{}}
	c.conditions, _ = raw["Conditions"].(map[string]any)
	c.walk("Globals", raw["Globals"])
	c.walk("Conditions", raw["Conditions"])
	c.walk("Outputs", raw["Outputs"])
	res, _ := raw["Resources"].(map[string]any)
	for _, id := range sortedKeys(c.resources) {
		r := res[id].(map[string]any)
		c.walk(id+".Properties", r["Properties"])
		for _, d := range asList(r["DependsOn"]) {
			if s, _ := d.(string); !c.isResource(s) {
				c.broken = append(c.broken, fmt.Errorf("%s.DependsOn: %v names no resource", id, d))
			}
		}
		if cd, ok := r["Condition"]; ok {
			c.cond(id+".Condition", cd)
		}
	}
	for p := range c.params {
		if !c.used[p] {
			unusedParams = append(unusedParams, p)
		}
	}
	sort.Strings(unusedParams)
	return c.broken, unusedParams
}

// refChecker walks a template's values, recording the parameters they use
// and the references that name nothing.
type refChecker struct {
	params     map[string]samtemplate.Parameter
	resources  map[string]samtemplate.Resource
	conditions map[string]any
	used       map[string]bool
	broken     []error
}

// isResource reports whether id is a resource, or the execution role
// <Function>Role that SAM generates for a function.
func (c *refChecker) isResource(id string) bool {
	if _, ok := c.resources[id]; ok {
		return true
	}
	if fn, ok := strings.CutSuffix(id, "Role"); ok {
		return c.resources[fn].Type == samtemplate.ServerlessFunctionType
	}
	return false
}

// name checks a Ref or Fn::Sub name: a Fn::Sub variable, a parameter, a
// pseudo parameter or a resource.
func (c *refChecker) name(where, n string, vars map[string]any) {
	if _, ok := vars[n]; ok {
		return
	}
	if _, ok := c.params[n]; ok {
		c.used[n] = true
		return
	}
	if pseudoParameters[n] || c.isResource(n) {
		return
	}
	c.broken = append(c.broken, fmt.Errorf("%s: %s names no parameter, resource or pseudo parameter", where, n))
}

func (c *refChecker) getAtt(where, id string) {
	if !c.isResource(id) {
		c.broken = append(c.broken, fmt.Errorf("%s: Fn::GetAtt %s names no resource", where, id))
	}
}

func (c *refChecker) cond(where string, v any) {
	s, _ := v.(string)
	if _, ok := c.conditions[s]; !ok {
		c.broken = append(c.broken, fmt.Errorf("%s: condition %v is not in Conditions", where, v))
	}
}

func (c *refChecker) walk(where string, v any) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			c.walk(fmt.Sprintf("%s[%d]", where, i), e)
		}
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if c.intrinsic(where, k, arg) {
					return
				}
			}
		}
		for _, k := range sortedKeys(x) {
			c.walk(where+"."+k, x[k])
		}
	}
}

// intrinsic checks {k: arg} when k is an intrinsic function or Condition,
// and reports whether it was one (a malformed Fn::If is walked as a map).
func (c *refChecker) intrinsic(where, k string, arg any) bool {
	switch k {
	case "Ref":
		s, _ := arg.(string)
		c.name(where, s, nil)
	case "Fn::GetAtt":
		c.fnGetAtt(where, arg)
	case "Fn::Sub":
		c.fnSub(where, arg)
	case "Fn::If":
		a, ok := arg.([]any)
		if !ok || len(a) != 3 {
			return false
		}
		c.cond(where, a[0])
		c.walk(where, a[1:])
	case "Condition":
		c.cond(where, arg)
	default:
		return false
	}
	return true
}

func (c *refChecker) fnGetAtt(where string, arg any) {
	switch a := arg.(type) {
	case []any:
		if len(a) == 2 {
			id, _ := a[0].(string)
			c.getAtt(where, id)
			c.walk(where, a[1])
			return
		}
	case string:
		id, _, _ := strings.Cut(a, ".")
		c.getAtt(where, id)
		return
	}
	c.broken = append(c.broken, fmt.Errorf("%s: malformed Fn::GetAtt %v", where, arg))
}

func (c *refChecker) fnSub(where string, arg any) {
	format, vars := "", map[string]any(nil)
	switch a := arg.(type) {
	case string:
		format = a
	case []any:
		if len(a) == 2 {
			format, _ = a[0].(string)
			vars, _ = a[1].(map[string]any)
			c.walk(where, a[1])
		}
	}
	for _, ref := range subVariables(format) {
		if id, _, ok := strings.Cut(ref, "."); ok {
			if _, isVar := vars[ref]; !isVar {
				c.getAtt(where, id)
			}
			continue
		}
		c.name(where, ref, vars)
	}
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
