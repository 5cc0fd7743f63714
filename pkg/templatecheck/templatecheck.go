// Package templatecheck checks that template.yaml is deployable as written
// and agrees with the code it deploys: every resource validates against the
// SAM or CloudFormation registry schema for its type, each functions/<name>
// folder is exactly one template function built by the Makefile, the admin
// API's routes are where DESIGN §4 puts them, and each function is given
// every environment variable and IAM action its code needs, and no more.
//
// It is a test-time tool: `make test` runs its checks against the
// repository (templatecheck_test.go). The schemas live outside the
// repository, in ../shared/schema beside the clone, as CI has them.
package templatecheck

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyward/keyward/pkg/samtemplate"
)

// Paths locates what the checks read.
type Paths struct {
	// Root is the repository root: the directory holding template.yaml,
	// go.mod, the Makefile and functions/.
	Root string
	// Template is Root/template.yaml.
	Template string
	// Schemas is Root/../shared/schema, holding sam.schema.json and
	// cloudformation/*.json.
	Schemas string
}

// FindPaths finds the repository from startDir (or any parent) and the shared
// schema directory beside it. A missing schema directory is an error saying
// where it was expected, since CI checks out shared/ next to the clone.
func FindPaths(startDir string) (Paths, error) {
	tmpl, err := samtemplate.Find(startDir)
	if err != nil {
		return Paths{}, err
	}
	root := filepath.Dir(tmpl)
	p := Paths{Root: root, Template: tmpl, Schemas: filepath.Join(filepath.Dir(root), "shared", "schema")}
	for _, f := range []string{SAMSchemaFile, CloudFormationDir} {
		if _, err := os.Stat(filepath.Join(p.Schemas, f)); err != nil {
			return Paths{}, fmt.Errorf("templatecheck: %s not found: the SAM and CloudFormation schemas are expected in ../shared/schema beside the repository (%s): %w", f, p.Schemas, err)
		}
	}
	return p, nil
}
