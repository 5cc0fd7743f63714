package templatecheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

func TestEachStreamHasAtMostTwoReaders(t *testing.T) {
	r := mustRepo(t)
	for _, err := range CheckStreamReaders(r.functions) {
		t.Error(err)
	}
	readers := StreamReaders(r.functions)
	if want := []string{"AuditStreamFunction.KeysStream", "FlushFunction.KeysStream"}; !slices.Equal(readers["KeysTable"], want) {
		t.Errorf("KeysTable stream readers = %v, want %v", readers["KeysTable"], want)
	}
	if want := []string{"EventsFunction.AuditStream"}; !slices.Equal(readers["AuditTable"], want) {
		t.Errorf("AuditTable stream readers = %v, want %v (events follow the audit trail)", readers["AuditTable"], want)
	}
	f := r.functions["EventsFunction"]
	if f == nil || len(f.StreamEvents) != 1 || !slices.Equal(f.StreamEvents[0].FilterPatterns, []string{`{"eventName":["INSERT"]}`}) {
		t.Error(`EventsFunction must read new audit records only (FilterCriteria {"eventName":["INSERT"]})`)
	}
}

func TestCheckStreamReadersFailsOnAThirdReader(t *testing.T) {
	fn := func(table string) *samtemplate.ServerlessFunction {
		return &samtemplate.ServerlessFunction{StreamEvents: []samtemplate.StreamEvent{{Name: "S", Type: "DynamoDB", StreamTable: table}}}
	}
	fns := map[string]*samtemplate.ServerlessFunction{"A": fn("T"), "B": fn("T"), "C": fn("U")}
	if errs := CheckStreamReaders(fns); len(errs) != 0 {
		t.Fatalf("two readers: %v", errs)
	}
	fns["D"] = fn("T")
	errs := CheckStreamReaders(fns)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "T.StreamArn has 3 event source mappings (A.S, B.S, D.S)") {
		t.Fatalf("three readers: %v", errs)
	}
}
