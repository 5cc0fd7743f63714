// Package samtemplate reads the SAM template (template.yaml), the single
// source of truth for keyward's infrastructure, so that local tooling and
// tests build the same tables and settings that CloudFormation deploys.
//
// The template is parsed with yaml.v3 into a yaml.Node tree whose short-form
// intrinsic tags (!Ref, !GetAtt, !Sub, ...) are rewritten into their long
// JSON form ({"Ref": ...}, {"Fn::GetAtt": [...]}, ...) before it is decoded
// into plain Go values (map[string]any, []any, string, int, float64, bool).
// Decoding tagged nodes directly would silently drop the intrinsics.
package samtemplate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileName is the name of the template that Find looks for.
const FileName = "template.yaml"

// Template is a parsed SAM/CloudFormation template with every intrinsic
// function in long form.
type Template struct {
	doc map[string]any
}

// Resource is one entry of the template's Resources section.
type Resource struct {
	// Type is the resource type, e.g. "AWS::DynamoDB::Table".
	Type string
	// Properties holds the resource's properties, intrinsics in long form;
	// nil when the resource has none.
	Properties map[string]any
	// Metadata holds the resource's Metadata attribute as written; nil when
	// absent.
	Metadata map[string]any
	// Condition is the name of the condition guarding the resource, if any.
	Condition string
}

// Parameter is one entry of the template's Parameters section.
type Parameter struct {
	// Type is the parameter type, e.g. "String" or "Number".
	Type string
	// Default is the default value rendered as CloudFormation passes it
	// (numbers and lists as strings); meaningful only when HasDefault.
	Default string
	// HasDefault reports whether the template declares a Default (possibly "").
	HasDefault bool
	// Description is the parameter's description.
	Description string
	// AllowedValues lists the allowed values, rendered as strings.
	AllowedValues []string
	// AllowedPattern is the regular expression values must match, if any.
	AllowedPattern string
	// MinValue and MaxValue bound a Number parameter when set.
	MinValue, MaxValue *float64
}

// Find walks up from startDir (and its parents) and returns the absolute path
// of the first template.yaml found, so tests in any package can locate the
// repository's template.
func Find(startDir string) (string, error) {
	dir, err := filepath.Abs(startDir)
	if err != nil {
		return "", fmt.Errorf("samtemplate: find %s: %w", FileName, err)
	}
	for {
		p := filepath.Join(dir, FileName)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("samtemplate: no %s in %s or any parent directory", FileName, startDir)
		}
		dir = parent
	}
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template held in memory (YAML or JSON, which is YAML).
func Parse(data []byte) (*Template, error) {
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	return t, nil
}

func parse(data []byte) (*Template, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty template")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if err := expandTags(&root); err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := root.Decode(&doc); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errors.New("template is not a mapping")
	}
	t := &Template{doc: doc}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// validate checks the shape of the sections this package interprets, so the
// accessors can stay error-free.
func (t *Template) validate() error {
	if v, ok := t.doc["Resources"]; ok && v != nil {
		res, ok := v.(map[string]any)
		if !ok {
			return errors.New("Resources is not a mapping")
		}
		for id, r := range res {
			m, ok := r.(map[string]any)
			if !ok {
				return fmt.Errorf("resource %s is not a mapping", id)
			}
			if typ, ok := m["Type"].(string); !ok || typ == "" {
				return fmt.Errorf("resource %s has no Type string", id)
			}
			for _, k := range []string{"Properties", "Metadata"} {
				if v, ok := m[k]; ok && v != nil {
					if _, ok := v.(map[string]any); !ok {
						return fmt.Errorf("resource %s: %s is not a mapping", id, k)
					}
				}
			}
			if v, ok := m["Condition"]; ok {
				if _, ok := v.(string); !ok {
					return fmt.Errorf("resource %s: Condition is not a string", id)
				}
			}
		}
	}
	if v, ok := t.doc["Parameters"]; ok && v != nil {
		ps, ok := v.(map[string]any)
		if !ok {
			return errors.New("Parameters is not a mapping")
		}
		for name, p := range ps {
			m, ok := p.(map[string]any)
			if !ok {
				return fmt.Errorf("parameter %s is not a mapping", name)
			}
			if d, ok := m["Default"]; ok {
				if _, err := scalarString(d); err != nil {
					return fmt.Errorf("parameter %s: Default: %w", name, err)
				}
			}
		}
	}
	return nil
}

// Raw returns the whole decoded template with intrinsics in long form. It is
// shared with the Template: treat it as read-only.
func (t *Template) Raw() map[string]any { return t.doc }

// Resources returns every resource keyed by logical ID.
func (t *Template) Resources() map[string]Resource {
	out := make(map[string]Resource)
	res, _ := t.doc["Resources"].(map[string]any)
	for id, r := range res {
		m := r.(map[string]any) // checked by validate
		props, _ := m["Properties"].(map[string]any)
		meta, _ := m["Metadata"].(map[string]any)
		cond, _ := m["Condition"].(string)
		out[id] = Resource{Type: m["Type"].(string), Properties: props, Metadata: meta, Condition: cond}
	}
	return out
}

// ResourcesOfType returns the resources whose Type is typ, keyed by logical ID.
func (t *Template) ResourcesOfType(typ string) map[string]Resource {
	out := make(map[string]Resource)
	for id, r := range t.Resources() {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// Parameters returns every declared parameter keyed by name.
func (t *Template) Parameters() map[string]Parameter {
	out := make(map[string]Parameter)
	ps, _ := t.doc["Parameters"].(map[string]any)
	for name, p := range ps {
		m := p.(map[string]any) // checked by validate
		var par Parameter
		par.Type, _ = m["Type"].(string)
		par.Description, _ = m["Description"].(string)
		par.AllowedPattern, _ = m["AllowedPattern"].(string)
		par.MinValue, par.MaxValue = number(m["MinValue"]), number(m["MaxValue"])
		if d, ok := m["Default"]; ok {
			par.Default, _ = scalarString(d) // checked by validate
			par.HasDefault = true
		}
		if av, ok := m["AllowedValues"].([]any); ok {
			for _, v := range av {
				if s, err := scalarString(v); err == nil {
					par.AllowedValues = append(par.AllowedValues, s)
				}
			}
		}
		out[name] = par
	}
	return out
}

func number(v any) *float64 {
	s, err := scalarString(v)
	if v == nil || err != nil {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil
	}
	return &f
}

// CheckParameters checks values as CloudFormation checks parameters before
// it creates anything: every name is a declared parameter, and each value
// is one of AllowedValues, matches AllowedPattern (the whole value, as
// CloudFormation's Java regular expressions do) and, for a Number, is a
// number within MinValue and MaxValue. The error names the parameter.
func (t *Template) CheckParameters(values map[string]string) error {
	params := t.Parameters()
	for _, name := range slices.Sorted(maps.Keys(values)) {
		v := values[name]
		p, ok := params[name]
		if !ok {
			return fmt.Errorf("parameter %s: the template declares no such parameter", name)
		}
		if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, v) {
			return fmt.Errorf("parameter %s: %q is not one of %s", name, v, strings.Join(p.AllowedValues, ", "))
		}
		if p.AllowedPattern != "" {
			re, err := regexp.Compile(`^(?:` + p.AllowedPattern + `)$`)
			if err == nil && !re.MatchString(v) {
				return fmt.Errorf("parameter %s: %q does not match the template's AllowedPattern", name, v)
			}
		}
		if p.Type == "Number" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			switch {
			case err != nil:
				return fmt.Errorf("parameter %s: %q is not a number", name, v)
			case p.MinValue != nil && f < *p.MinValue, p.MaxValue != nil && f > *p.MaxValue:
				return fmt.Errorf("parameter %s: %s is outside the template's MinValue/MaxValue", name, v)
			}
		}
	}
	return nil
}

// ParameterValues returns the parameters' defaults overlaid with overrides,
// the map ResolveString and DynamoDBTables expect. Parameters without a
// default appear only when overridden; overrides may add other names too
// (pseudo parameters such as "AWS::Region", or resource logical IDs).
func (t *Template) ParameterValues(overrides map[string]string) map[string]string {
	out := make(map[string]string)
	for name, p := range t.Parameters() {
		if p.HasDefault {
			out[name] = p.Default
		}
	}
	for k, v := range overrides {
		out[k] = v
	}
	return out
}

// scalarString renders a YAML scalar (or a list of scalars, as CloudFormation
// accepts for CommaDelimitedList defaults) the way CloudFormation passes
// parameter values: as a string.
func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", nil
	case []any:
		var b bytes.Buffer
		for i, e := range x {
			s, err := scalarString(e)
			if err != nil {
				return "", err
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(s)
		}
		return b.String(), nil
	default:
		return "", fmt.Errorf("%s is not a scalar", describe(v))
	}
}

// describe names a decoded value for error messages, naming the intrinsic
// function when it is one.
func describe(v any) string {
	if m, ok := v.(map[string]any); ok {
		if isIntrinsic(m) {
			for k := range m {
				return "intrinsic " + k
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return fmt.Sprintf("mapping %v", keys)
	}
	return fmt.Sprintf("%T", v)
}
