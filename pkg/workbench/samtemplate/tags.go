package samtemplate

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// longForm maps each short-form YAML tag CloudFormation accepts to the key of
// its long (JSON) form.
var longForm = map[string]string{
	"!Ref":          "Ref",
	"!Condition":    "Condition",
	"!GetAtt":       "Fn::GetAtt",
	"!Sub":          "Fn::Sub",
	"!If":           "Fn::If",
	"!Join":         "Fn::Join",
	"!Select":       "Fn::Select",
	"!Split":        "Fn::Split",
	"!Equals":       "Fn::Equals",
	"!Not":          "Fn::Not",
	"!And":          "Fn::And",
	"!Or":           "Fn::Or",
	"!FindInMap":    "Fn::FindInMap",
	"!Base64":       "Fn::Base64",
	"!ImportValue":  "Fn::ImportValue",
	"!GetAZs":       "Fn::GetAZs",
	"!Cidr":         "Fn::Cidr",
	"!Length":       "Fn::Length",
	"!ToJsonString": "Fn::ToJsonString",
	"!Transform":    "Fn::Transform",
}

// expandTags rewrites, in place, every node carrying a short-form intrinsic
// tag into a one-key mapping holding its long form: `!Ref X` becomes
// {Ref: X}, `!GetAtt A.B` becomes {Fn::GetAtt: [A, B]}. Aliases share their
// anchor's node, so each node is rewritten once and aliases see the result.
func expandTags(root *yaml.Node) error {
	seen := make(map[*yaml.Node]bool)
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n == nil || seen[n] {
			return nil
		}
		seen[n] = true
		if n.Kind == yaml.AliasNode {
			return walk(n.Alias)
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
			return nil
		}
		key, ok := longForm[n.Tag]
		if !ok {
			return fmt.Errorf("line %d: unsupported tag %s", n.Line, n.Tag)
		}
		arg := *n
		arg.Anchor = ""
		arg.HeadComment, arg.LineComment, arg.FootComment = "", "", ""
		switch arg.Kind {
		case yaml.ScalarNode:
			// Arguments written as scalars are strings (`!Ref 123` names
			// "123"), never numbers or booleans.
			arg.Tag = "!!str"
		case yaml.SequenceNode:
			arg.Tag = "!!seq"
		case yaml.MappingNode:
			arg.Tag = "!!map"
		default:
			return fmt.Errorf("line %d: %s applied to an unexpected node", n.Line, n.Tag)
		}
		if n.Tag == "!GetAtt" && arg.Kind == yaml.ScalarNode {
			// "Resource.Attr.With.Dots": the logical ID has no dots, the
			// attribute name may (e.g. Endpoint.Address).
			res, attr, ok := strings.Cut(arg.Value, ".")
			if !ok || res == "" || attr == "" {
				return fmt.Errorf("line %d: !GetAtt %q is not Resource.Attribute", n.Line, arg.Value)
			}
			arg = yaml.Node{
				Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column,
				Content: []*yaml.Node{strNode(res, n), strNode(attr, n)},
			}
		}
		*n = yaml.Node{
			Kind:        yaml.MappingNode,
			Tag:         "!!map",
			Anchor:      n.Anchor,
			Line:        n.Line,
			Column:      n.Column,
			HeadComment: n.HeadComment,
			LineComment: n.LineComment,
			FootComment: n.FootComment,
			Content:     []*yaml.Node{strNode(key, n), &arg},
		}
		return nil
	}
	return walk(root)
}

// strNode returns a string scalar positioned at at.
func strNode(s string, at *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: at.Line, Column: at.Column}
}
