// Package templatecheck checks that template.yaml is deployable as written
// and agrees with the code it deploys. `make test` runs its checks against
// the repository (templatecheck_test.go):
//
//   - every AWS::Serverless::* resource validates against the SAM schema's
//     definition for its type, Globals against the SAM schema's Globals,
//     every other resource's Properties against its CloudFormation registry
//     schema (a type without a schema file fails); an intrinsic function is
//     accepted wherever a value is (Validator);
//   - every Ref, Fn::GetAtt, Fn::Sub variable, condition and DependsOn
//     resolves, and every parameter is used (References);
//   - each functions/<name> folder is built by exactly one template function
//     (its Makefile target build-<LogicalId> builds ./functions/<name> for
//     arm64 into $(ARTIFACTS_DIR)/bootstrap), and every admin route is an
//     Api event of the function that serves it, behind the authorizer;
//   - each function's Globals + Environment set every environment variable
//     its reachable code reads (AWS_* and Lambda's own excepted), and its
//     inline policies grant every IAM action its reachable AWS SDK calls
//     need and nothing else: no wildcard action, no Scan, no Resource "*"
//     (Analyze, RequiredActions, CheckPolicies document the rules and the
//     exceptions);
//   - no table's stream has more than two event source mappings
//     (CheckStreamReaders): DynamoDB Streams throttles a third reader;
//   - the pieces issue 5 lists are there (parameters, authorizer, gateway
//     responses that render to the error contract, tables, KMS key, DLQ,
//     alarms, outputs), and the authorizer's results are cached per
//     Authorization header, source IP, method and resource path, since each
//     answer holds for one route only.
//
// The schemas are unchanged copies of the official SAM schema and of
// CloudFormation registry schemas, in testdata/schema with their sources and
// licences.
package templatecheck

import (
	"path/filepath"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// Paths locates what the checks read.
type Paths struct {
	// Root is the repository root: the directory holding template.yaml,
	// go.mod, the Makefile and functions/.
	Root string
	// Template is Root/template.yaml.
	Template string
}

// FindPaths finds the repository from startDir (or any parent).
func FindPaths(startDir string) (Paths, error) {
	tmpl, err := samtemplate.Find(startDir)
	if err != nil {
		return Paths{}, err
	}
	return Paths{Root: filepath.Dir(tmpl), Template: tmpl}, nil
}
