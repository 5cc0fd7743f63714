// Package ddblocaltest gives other packages' tests real DynamoDB Local
// tables built from template.yaml: one DynamoDB Local per test binary,
// started on first use, and fresh tables per test.
//
// Use it from a package's tests like this:
//
//	func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		tables := ddblocaltest.Tables(t) // logical ID → table name
//		client := ddblocal.Client(ddblocaltest.Shared(t).Endpoint)
//		store := newStore(client, tables["KeysTable"])
//		...
//	}
//
// Nothing is skipped: without Java (or npm, for a first install) the tests
// fail and say what is missing.
package ddblocaltest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// startTimeout is generous: `go test ./...` starts one JVM per package
// binary, in parallel, on machines with few cores.
const startTimeout = 90 * time.Second

var (
	startOnce sync.Once
	shared    *ddblocal.Instance
	startErr  error

	tmplOnce sync.Once
	tmpl     *samtemplate.Template
	tmplErr  error

	tableSeq atomic.Int64
)

// Shared returns this test binary's DynamoDB Local, starting it on first use.
// It fails tb if DynamoDB Local cannot start. Stop it with Run (or Main) in
// TestMain; on Linux it also dies with the test binary.
func Shared(tb testing.TB) *ddblocal.Instance {
	tb.Helper()
	startOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		shared, startErr = ddblocal.Start(ctx, ddblocal.Options{ReadyTimeout: startTimeout})
	})
	if startErr != nil {
		tb.Fatalf("ddblocaltest: this test needs DynamoDB Local, which did not start: %v", startErr)
	}
	return shared
}

// Run runs the tests, then stops the shared DynamoDB Local if one was
// started, and returns the exit code: os.Exit(ddblocaltest.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	// No test runs any more, so startOnce cannot be racing with this.
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Main is Run followed by os.Exit, for a one-line TestMain:
// func TestMain(m *testing.M) { ddblocaltest.Main(m) }.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Tables creates every table of template.yaml (found from the working
// directory upwards) in the shared DynamoDB Local, named
// <LogicalID>-<test name>-<n> so that each call gets tables of its own, and
// returns their names keyed by logical ID. The tables are deleted when tb
// finishes.
func Tables(tb testing.TB) map[string]string {
	tb.Helper()
	inst := Shared(tb)
	t := template(tb)
	suffix := sanitize(tb.Name()) + "-" + strconv.FormatInt(tableSeq.Add(1), 10)
	client := ddblocal.Client(inst.Endpoint)
	tb.Cleanup(func() { deleteTables(tb, client, suffix) })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names, err := ddblocal.CreateTables(ctx, client, t, func(id string) string { return id + "-" + suffix })
	if err != nil {
		tb.Fatalf("ddblocaltest: %v", err)
	}
	for id, name := range names {
		if !strings.HasSuffix(name, "-"+suffix) {
			tb.Fatalf("ddblocaltest: template.yaml fixes TableName %q for %s, so tests cannot get a table of their own; "+
				"leave TableName out (CloudFormation then names it after the stack)", name, id)
		}
	}
	return names
}

// template loads template.yaml once per test binary.
func template(tb testing.TB) *samtemplate.Template {
	tb.Helper()
	tmplOnce.Do(func() {
		var path string
		if path, tmplErr = samtemplate.Find("."); tmplErr == nil {
			tmpl, tmplErr = samtemplate.Load(path)
		}
	})
	if tmplErr != nil {
		tb.Fatalf("ddblocaltest: %v", tmplErr)
	}
	return tmpl
}

// deleteTables deletes every table whose name ends in -suffix.
func deleteTables(tb testing.TB, client *dynamodb.Client, suffix string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := dynamodb.NewListTablesPaginator(client, &dynamodb.ListTablesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			tb.Errorf("ddblocaltest: list tables for cleanup: %v", err)
			return
		}
		for _, name := range page.TableNames {
			if !strings.HasSuffix(name, "-"+suffix) {
				continue
			}
			_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
			var notFound *types.ResourceNotFoundException
			if err != nil && !errors.As(err, &notFound) {
				tb.Errorf("ddblocaltest: delete table %s: %v", name, err)
			}
		}
	}
}

// sanitize turns a test name into characters DynamoDB allows in table names
// ([A-Za-z0-9_.-]), short enough to leave room for the logical ID.
func sanitize(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 100 {
		b = b[len(b)-100:]
	}
	return string(b)
}
