package samtemplate

import (
	"errors"
	"fmt"
	"strings"
)

// ResolveString renders a template value that must end up a string, e.g. an
// environment variable, a table name or a billing mode. It handles plain
// scalars and the simple intrinsics local tooling can answer from params:
//
//   - {"Ref": "Name"} is params["Name"]: a parameter (see
//     Template.ParameterValues), a pseudo parameter ("AWS::Region") or a
//     resource's physical ID ("KeysTable" → the table name), as the caller
//     chooses to supply;
//   - {"Fn::GetAtt": ["Res", "Attr"]} is params["Res.Attr"];
//   - {"Fn::Sub": ...} substitutes ${Name} and ${Res.Attr} from its own
//     variables or params (${!Literal} stays "${Literal}");
//   - {"Fn::Join": [delim, [values...]]} joins resolved values;
//   - {"Fn::ImportValue": name} is params[ImportKey(name)], another stack's
//     export.
//
// Anything else (conditions, Fn::If, Fn::Select, ...) or a name missing from
// params is an error.
func ResolveString(v any, params map[string]string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				return resolveFn(fn, arg, params)
			}
		}
		return "", fmt.Errorf("cannot resolve %s to a string", describe(v))
	case []any:
		return "", errors.New("cannot resolve a list to a string")
	}
	s, err := scalarString(v)
	if err != nil {
		return "", fmt.Errorf("cannot resolve %s to a string", describe(v))
	}
	return s, nil
}

func resolveFn(fn string, arg any, params map[string]string) (string, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return "", fmt.Errorf("invalid Ref of %s", describe(arg))
		}
		val, ok := params[name]
		if !ok {
			return "", fmt.Errorf("unresolved Ref %s: no value supplied", name)
		}
		return val, nil
	case "Fn::GetAtt":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 2 {
			return "", errors.New("Fn::GetAtt needs [Resource, Attribute]")
		}
		res, ok1 := parts[0].(string)
		attr, ok2 := parts[1].(string)
		if !ok1 || !ok2 {
			return "", errors.New("Fn::GetAtt with non-string arguments")
		}
		val, ok := params[res+"."+attr]
		if !ok {
			return "", fmt.Errorf("Fn::GetAtt %s.%s: no value supplied", res, attr)
		}
		return val, nil
	case "Fn::Sub":
		return resolveSub(arg, params)
	case "Fn::ImportValue":
		name, err := ResolveString(arg, params)
		if err != nil {
			return "", fmt.Errorf("Fn::ImportValue: %w", err)
		}
		val, ok := params[ImportKey(name)]
		if !ok {
			return "", fmt.Errorf("Fn::ImportValue %s: no stack exports it", name)
		}
		return val, nil
	case "Fn::Join":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 2 {
			return "", errors.New("Fn::Join needs [delimiter, [values]]")
		}
		delim, ok := parts[0].(string)
		if !ok {
			return "", errors.New("Fn::Join delimiter is not a string")
		}
		list, ok := parts[1].([]any)
		if !ok {
			return "", fmt.Errorf("Fn::Join of %s", describe(parts[1]))
		}
		out := make([]string, len(list))
		for i, e := range list {
			s, err := ResolveString(e, params)
			if err != nil {
				return "", fmt.Errorf("Fn::Join: %w", err)
			}
			out[i] = s
		}
		return strings.Join(out, delim), nil
	default:
		return "", fmt.Errorf("cannot resolve intrinsic %s locally", fn)
	}
}

func resolveSub(arg any, params map[string]string) (string, error) {
	var (
		format string
		vars   map[string]any
	)
	switch a := arg.(type) {
	case string:
		format = a
	case []any:
		if len(a) != 2 {
			return "", errors.New("Fn::Sub needs a string or [string, {variables}]")
		}
		var ok bool
		if format, ok = a[0].(string); !ok {
			return "", errors.New("Fn::Sub format is not a string")
		}
		if vars, ok = a[1].(map[string]any); !ok {
			return "", errors.New("Fn::Sub variables are not a mapping")
		}
	default:
		return "", fmt.Errorf("Fn::Sub of %s", describe(arg))
	}
	var b strings.Builder
	for {
		i := strings.Index(format, "${")
		if i < 0 {
			b.WriteString(format)
			return b.String(), nil
		}
		b.WriteString(format[:i])
		end := strings.IndexByte(format[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("Fn::Sub: unterminated ${ in %q", format)
		}
		name := format[i+2 : i+end]
		format = format[i+end+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var (
			val string
			err error
		)
		if v, ok := vars[name]; ok {
			val, err = ResolveString(v, params)
		} else if p, ok := params[name]; ok {
			val = p
		} else {
			err = fmt.Errorf("${%s}: no value supplied", name)
		}
		if err != nil {
			return "", fmt.Errorf("Fn::Sub: %w", err)
		}
		b.WriteString(val)
	}
}

// ImportKey is the params key under which ResolveString finds the value of
// the export named name.
func ImportKey(name string) string { return "Fn::ImportValue:" + name }
