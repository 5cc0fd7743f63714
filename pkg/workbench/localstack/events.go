package localstack

import (
	"path/filepath"

	"github.com/keyward/keyward/pkg/workbench/localevents"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// EventsFile is the file in the data directory where the local EventBridge
// endpoint appends every event, one JSON line each.
const EventsFile = "events.jsonl"

// startEvents serves a PutEvents-compatible endpoint for the template's
// event buses (AWS::Events::EventBus, named locally by logical ID, and
// "default"), appending to DataDir/events.jsonl and printing one line per
// event on the console. It sets st.EventsURL.
func (st *Stack) startEvents(tmpl *samtemplate.Template, port int) error {
	buses := []string{"default"}
	for id := range tmpl.ResourcesOfType("AWS::Events::EventBus") {
		buses = append(buses, id, "arn:aws:events:"+Region+":"+Account+":event-bus/"+id)
	}
	srv, err := localevents.New(localevents.Config{
		File:    filepath.Join(st.DataDir, EventsFile),
		Output:  st.console.prefixed("events"),
		Buses:   buses,
		Region:  Region,
		Account: Account,
	})
	if err != nil {
		return err
	}
	url, stop, err := srv.Start(addr(port))
	if err != nil {
		return err
	}
	st.closers = append(st.closers, stop)
	st.EventsURL = url
	return nil
}
