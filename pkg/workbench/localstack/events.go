package localstack

import (
	"context"
	"path/filepath"

	"github.com/keyward/keyward/pkg/workbench/localevents"
)

// EventsFile is the file in the data directory where the local EventBridge
// endpoint appends every event, one JSON line each.
const EventsFile = "events.jsonl"

// DefaultEventsPort is the local EventBridge endpoint's port.
const DefaultEventsPort = 3003

// startEvents serves a PutEvents-compatible endpoint for keyward's event
// buses (AWS::Events::EventBus, named locally by logical ID, and
// "default"), appending to DataDir/events.jsonl and printing one line per
// event on the console. The functions reach it through
// AWS_ENDPOINT_URL_EVENTBRIDGE.
func (b *boot) startEvents(context.Context) error {
	buses := []string{"default"}
	for id := range b.stacks[0].t.ResourcesOfType("AWS::Events::EventBus") {
		buses = append(buses, id, "arn:aws:events:"+Region+":"+Account+":event-bus/"+id)
	}
	srv, err := localevents.New(localevents.Config{
		File:    filepath.Join(b.st.DataDir, EventsFile),
		Output:  b.con.Prefixed("events"),
		Buses:   buses,
		Region:  Region,
		Account: Account,
	})
	if err != nil {
		return err
	}
	url, stop, err := srv.Start(addr(b.opts.EventsPort))
	if err != nil {
		return err
	}
	b.st.onClose(stop)
	b.st.EventsURL = url
	return nil
}
