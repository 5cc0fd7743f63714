package templatecheck

import (
	"fmt"
	"sort"
	"strings"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// MaxStreamReaders is how many event source mappings may read one DynamoDB
// stream: DynamoDB Streams throttles a shard read by more than two processes.
const MaxStreamReaders = 2

// StreamReaders maps each table whose stream a DynamoDB event source mapping
// reads to those mappings ("Function.Event"), sorted.
func StreamReaders(fns map[string]*samtemplate.ServerlessFunction) map[string][]string {
	out := map[string][]string{}
	for id, f := range fns {
		for _, e := range f.StreamEvents {
			if e.Type == "DynamoDB" && e.StreamTable != "" {
				out[e.StreamTable] = append(out[e.StreamTable], id+"."+e.Name)
			}
		}
	}
	for _, rs := range out {
		sort.Strings(rs)
	}
	return out
}

// CheckStreamReaders reports every table whose stream has more than
// MaxStreamReaders event source mappings, naming them.
func CheckStreamReaders(fns map[string]*samtemplate.ServerlessFunction) []error {
	var errs []error
	readers := StreamReaders(fns)
	tables := make([]string, 0, len(readers))
	for t := range readers {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		if rs := readers[t]; len(rs) > MaxStreamReaders {
			errs = append(errs, fmt.Errorf("%s.StreamArn has %d event source mappings (%s); DynamoDB Streams serves at most %d readers per shard",
				t, len(rs), strings.Join(rs, ", "), MaxStreamReaders))
		}
	}
	return errs
}
