package templatecheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// Locations of the schemas inside the file system NewValidator reads (the
// package's testdata/schema in its tests).
const (
	// SAMSchemaFile is the official SAM schema (draft-04).
	SAMSchemaFile = "sam.schema.json"
	// CloudFormationDir holds one CloudFormation registry schema per
	// resource type, named as SchemaFileName says.
	CloudFormationDir = "cloudformation"
)

// samPrefix starts the type of every resource the SAM transform expands.
const samPrefix = "AWS::Serverless::"

// intrinsicDef is the definition, added to every schema, that an intrinsic
// function call matches: a one-key object whose key is Ref or Fn::<Name>.
const intrinsicDef = "__keywardIntrinsic"

var intrinsicSchema = map[string]any{
	"type":          "object",
	"minProperties": 1,
	"maxProperties": 1,
	"patternProperties": map[string]any{
		`^(Ref|Fn::[A-Za-z0-9]+)$`: map[string]any{},
	},
	"additionalProperties": false,
}

// SchemaFileName is the registry schema file for a CloudFormation resource
// type: AWS::DynamoDB::Table → aws-dynamodb-table.json.
func SchemaFileName(resourceType string) string {
	return strings.ToLower(strings.ReplaceAll(resourceType, "::", "-")) + ".json"
}

// Validator validates template resources: AWS::Serverless::* resources (the
// whole resource: Type, Properties, Metadata, ...) against the SAM schema's
// definition for their type, and Globals against the SAM schema's Globals;
// every other resource's Properties against its CloudFormation registry
// schema. Every schema is rewritten first so that an intrinsic function
// ({"Ref": ...}, {"Fn::Sub": ...}, ...) is accepted wherever a property value
// is, whatever type, enum or pattern the schema declares for it; keywords
// the validator does not know (readOnlyProperties, cfnLint, ...) are ignored.
type Validator struct {
	fsys fs.FS

	mu  sync.Mutex
	sam *jsonschema.Compiler
	// samDefs maps a SAM resource type to its definition's name.
	samDefs map[string]string
	cache   map[string]*jsonschema.Schema
}

// NewValidator reads the SAM schema from fsys. The CloudFormation schemas
// are read on first use.
func NewValidator(fsys fs.FS) (*Validator, error) {
	doc, err := loadSchema(fsys, SAMSchemaFile)
	if err != nil {
		return nil, err
	}
	defs, _ := doc["definitions"].(map[string]any)
	if defs == nil {
		return nil, fmt.Errorf("templatecheck: %s has no definitions", SAMSchemaFile)
	}
	v := &Validator{fsys: fsys, samDefs: make(map[string]string), cache: make(map[string]*jsonschema.Schema)}
	for name, d := range defs {
		m, _ := d.(map[string]any)
		props, _ := m["properties"].(map[string]any)
		typ, _ := props["Type"].(map[string]any)
		enum, _ := typ["enum"].([]any)
		for _, e := range enum {
			if s, ok := e.(string); ok && strings.HasPrefix(s, samPrefix) {
				v.samDefs[s] = name
			}
		}
	}
	if len(v.samDefs) == 0 {
		return nil, fmt.Errorf("templatecheck: %s defines no %s* resource", SAMSchemaFile, samPrefix)
	}
	acceptIntrinsics(doc)
	v.sam = newCompiler(jsonschema.Draft4)
	if err := v.sam.AddResource(SAMSchemaFile, doc); err != nil {
		return nil, fmt.Errorf("templatecheck: %s: %w", SAMSchemaFile, err)
	}
	return v, nil
}

// ValidateTemplate validates every resource and the Globals section, and
// returns one error per invalid resource (each naming it), sorted by logical
// ID.
func (v *Validator) ValidateTemplate(t *samtemplate.Template) []error {
	var errs []error
	raw := t.Raw()
	if g, ok := raw["Globals"]; ok {
		if err := v.validate("sam#Globals", SAMSchemaFile+"#/definitions/__main____Globals", g); err != nil {
			errs = append(errs, fmt.Errorf("section Globals: %w", err))
		}
	}
	res, _ := raw["Resources"].(map[string]any)
	ids := make([]string, 0, len(res))
	for id := range res {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := v.ValidateResource(res[id].(map[string]any)); err != nil {
			errs = append(errs, fmt.Errorf("resource %s: %w", id, err))
		}
	}
	return errs
}

// ValidateResource validates one resource as written in the template
// (Type, Properties, ...; intrinsics in long form).
func (v *Validator) ValidateResource(r map[string]any) error {
	typ, _ := r["Type"].(string)
	if strings.HasPrefix(typ, samPrefix) {
		def, ok := v.samDefs[typ]
		if !ok {
			return fmt.Errorf("%s is not a resource type of %s", typ, SAMSchemaFile)
		}
		return v.validate("sam#"+typ, SAMSchemaFile+"#/definitions/"+def, r)
	}
	if strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource" {
		return fmt.Errorf("%s: custom resources have no schema to check against", typ)
	}
	file := path.Join(CloudFormationDir, SchemaFileName(typ))
	props := r["Properties"]
	if props == nil {
		props = map[string]any{}
	}
	return v.validate(file, "", props)
}

// validate validates inst against the schema compiled for key; loc names
// the schema inside the SAM compiler, or is "" for the registry schema file
// key.
func (v *Validator) validate(key, loc string, inst any) error {
	sch, err := v.schema(key, loc)
	if err != nil {
		return err
	}
	// Round-trip through JSON so that the instance holds exactly what
	// CloudFormation would receive (yaml.v3 ints, nested maps, ...).
	b, err := json.Marshal(inst)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if err := sch.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return &SchemaError{Schema: schemaName(key), Problems: problems(ve)}
		}
		return err
	}
	return nil
}

func (v *Validator) schema(key, loc string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.cache[key]; ok {
		return s, nil
	}
	var (
		s   *jsonschema.Schema
		err error
	)
	if loc != "" {
		s, err = v.sam.Compile(loc)
	} else {
		s, err = compileRegistrySchema(v.fsys, key)
	}
	if err != nil {
		return nil, err
	}
	v.cache[key] = s
	return s, nil
}

func compileRegistrySchema(fsys fs.FS, file string) (*jsonschema.Schema, error) {
	if _, err := fs.Stat(fsys, file); err != nil {
		return nil, fmt.Errorf("no CloudFormation schema for this type: %s is missing (copy it unchanged from cfn-lint's src/cfnlint/data/schemas/providers/us_east_1/ and name its source in the schemas' README.md)", file)
	}
	doc, err := loadSchema(fsys, file)
	if err != nil {
		return nil, err
	}
	// Registry schemas name a meta-schema by a URL the validator would
	// fetch; they are draft-07 JSON Schema plus extra keywords.
	delete(doc, "$schema")
	delete(doc, "$id")
	acceptIntrinsics(doc)
	c := newCompiler(jsonschema.Draft7)
	name := path.Base(file)
	if err := c.AddResource(name, doc); err != nil {
		return nil, fmt.Errorf("templatecheck: %s: %w", name, err)
	}
	s, err := c.Compile(name)
	if err != nil {
		return nil, fmt.Errorf("templatecheck: compile %s: %w", name, err)
	}
	return s, nil
}

func newCompiler(draft *jsonschema.Draft) *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(draft)
	c.UseRegexpEngine(ecmaRegexp)
	// Nothing is fetched: every $ref in these schemas is local.
	c.UseLoader(noLoader{})
	return c
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("templatecheck: refusing to load %s: schemas must be self-contained", url)
}

func loadSchema(fsys fs.FS, file string) (map[string]any, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, fmt.Errorf("templatecheck: %w", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("templatecheck: %s: %w", file, err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("templatecheck: %s is not a JSON object", file)
	}
	return m, nil
}

// ecmaRegexp compiles schema patterns as ECMAScript regular expressions, as
// JSON Schema specifies; the SAM schema uses lookaheads Go's regexp lacks.
func ecmaRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return (*ecma)(re), nil
}

type ecma regexp2.Regexp

func (re *ecma) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return err == nil && ok
}

func (re *ecma) String() string { return (*regexp2.Regexp)(re).String() }

// acceptIntrinsics rewrites a schema document in place so that every
// property value position also accepts an intrinsic function call: each
// subschema found under properties, patternProperties, additionalProperties,
// items and additionalItems becomes {"anyOf": [original, intrinsic]}.
//
// Only value positions are wrapped. Definitions are not (they are reached
// through a $ref from a value position, which is), nor are the branches of
// allOf/anyOf/oneOf/not (wrapping them would let an intrinsic match every
// oneOf branch and so fail the oneOf; the position holding the oneOf is
// wrapped instead). Every $ref in these schemas points at a whole
// definition (#/definitions/Name), so moving a subschema one level down
// breaks no reference; acceptIntrinsics panics on any other $ref form, so a
// schema update that breaks this assumption is noticed.
func acceptIntrinsics(doc map[string]any) {
	walkSchema(doc)
	defs, _ := doc["definitions"].(map[string]any)
	if defs == nil {
		defs = make(map[string]any)
		doc["definitions"] = defs
	}
	defs[intrinsicDef] = intrinsicSchema
}

func walkSchema(v any) {
	s, ok := v.(map[string]any)
	if !ok {
		return // boolean schema
	}
	if ref, ok := s["$ref"].(string); ok {
		if rest, ok := strings.CutPrefix(ref, "#/definitions/"); !ok || strings.Contains(rest, "/") {
			panic(fmt.Sprintf("templatecheck: unsupported $ref %q (only #/definitions/Name)", ref))
		}
	}
	for _, kw := range []string{"properties", "patternProperties"} {
		if m, ok := s[kw].(map[string]any); ok {
			for k, sub := range m {
				walkSchema(sub)
				m[k] = wrapIntrinsic(sub)
			}
		}
	}
	for _, kw := range []string{"definitions", "$defs", "dependencies"} {
		if m, ok := s[kw].(map[string]any); ok {
			for _, sub := range m {
				walkSchema(sub)
			}
		}
	}
	for _, kw := range []string{"additionalProperties", "additionalItems"} {
		if sub, ok := s[kw].(map[string]any); ok {
			walkSchema(sub)
			s[kw] = wrapIntrinsic(sub)
		}
	}
	switch items := s["items"].(type) {
	case map[string]any:
		walkSchema(items)
		s["items"] = wrapIntrinsic(items)
	case []any:
		for i, sub := range items {
			walkSchema(sub)
			items[i] = wrapIntrinsic(sub)
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		if l, ok := s[kw].([]any); ok {
			for _, sub := range l {
				walkSchema(sub)
			}
		}
	}
	for _, kw := range []string{"not", "if", "then", "else", "contains", "propertyNames"} {
		walkSchema(s[kw])
	}
}

func wrapIntrinsic(sub any) any {
	if _, ok := sub.(map[string]any); !ok {
		return sub // true accepts anything already; false forbids the property
	}
	return map[string]any{"anyOf": []any{sub, map[string]any{"$ref": "#/definitions/" + intrinsicDef}}}
}

// SchemaError is a resource that does not validate against its schema.
type SchemaError struct {
	// Schema names the schema: a SAM definition or a registry schema file.
	Schema string
	// Problems are the most specific failures, sorted by instance location,
	// e.g. `at /BillingMode: value must be one of "PROVISIONED", ...`.
	Problems []string
}

// maxProblems caps SchemaError's message; an anyOf over many alternatives
// (SAM event types) otherwise lists a failure per alternative.
const maxProblems = 6

func (e *SchemaError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "does not validate against %s:", e.Schema)
	for i, p := range e.Problems {
		if i == maxProblems {
			fmt.Fprintf(&b, "\n\t(and %d more)", len(e.Problems)-i)
			break
		}
		b.WriteString("\n\t" + p)
	}
	return b.String()
}

func schemaName(key string) string {
	if s, ok := strings.CutPrefix(key, "sam#"); ok {
		return SAMSchemaFile + " (" + s + ")"
	}
	return path.Join(CloudFormationDir, path.Base(key))
}

var printer = message.NewPrinter(language.English)

// problems flattens a validation error tree into its leaves, dropping the
// failures of the intrinsic alternative that acceptIntrinsics added and, in
// an anyOf/oneOf over alternatives told apart by a Type discriminator (SAM
// event sources), the alternatives whose Type did not match.
func problems(ve *jsonschema.ValidationError) []string {
	var out []string
	seen := make(map[string]bool)
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if isIntrinsicBranch(e) {
			return
		}
		if len(e.Causes) > 0 {
			for _, c := range matchingAlternatives(e) {
				walk(c)
			}
			return
		}
		msg := fmt.Sprintf("at /%s: %s", strings.Join(e.InstanceLocation, "/"), e.ErrorKind.LocalizedString(printer))
		if !seen[msg] {
			seen[msg] = true
			out = append(out, msg)
		}
	}
	walk(ve)
	sort.Strings(out)
	if len(out) == 0 {
		out = []string{ve.Error()}
	}
	return out
}

// matchingAlternatives returns e's causes without the intrinsic alternative
// and, when e is an anyOf or oneOf, without the alternatives that failed on
// the discriminator property Type of the instance e is about — unless that
// leaves none.
func matchingAlternatives(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	var causes []*jsonschema.ValidationError
	for _, c := range e.Causes {
		if !isIntrinsicBranch(c) {
			causes = append(causes, c)
		}
	}
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
	default:
		return causes
	}
	disc := strings.Join(append(slices.Clone(e.InstanceLocation), "Type"), "/")
	var keep []*jsonschema.ValidationError
	for _, c := range causes {
		if !failsAt(c, disc) {
			keep = append(keep, c)
		}
	}
	if len(keep) == 0 {
		return causes
	}
	return keep
}

func isIntrinsicBranch(e *jsonschema.ValidationError) bool {
	if ref, ok := e.ErrorKind.(*kind.Reference); ok && strings.Contains(ref.URL, intrinsicDef) {
		return true
	}
	return strings.Contains(e.SchemaURL, intrinsicDef)
}

// failsAt reports whether e has a failure at instance location loc, not
// counting failures inside nested alternatives (anyOf/oneOf), which are
// about their own discriminators.
func failsAt(e *jsonschema.ValidationError, loc string) bool {
	if len(e.Causes) == 0 {
		return strings.Join(e.InstanceLocation, "/") == loc
	}
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		if strings.Join(e.InstanceLocation, "/") != loc {
			return false
		}
	}
	for _, c := range e.Causes {
		if failsAt(c, loc) {
			return true
		}
	}
	return false
}
