package samtemplate_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

func TestRepoTemplateSchedulesRunLocally(t *testing.T) {
	root, err := ddblocal.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Load(filepath.Join(root, samtemplate.FileName))
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.ServerlessFunctions(nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := fns["RemindersFunction"].ScheduleEvents
	if len(evs) != 1 || evs[0].Rate != time.Hour || !evs[0].Enabled {
		t.Fatalf("RemindersFunction schedules = %+v, want one (ScheduleV2) every hour", evs)
	}
}
