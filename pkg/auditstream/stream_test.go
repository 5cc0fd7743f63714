package auditstream_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
)

// changesOf renders a record's changes as JSON, for comparison.
func changesOf(t *testing.T, r audit.Record) string {
	t.Helper()
	b, err := json.Marshal(r.Changes)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLifecycleBecomesTheAuditTrail drives bootstrap, create, edit, rotate and
// revoke through the real service and store, reads the keys table's stream
// through the DynamoDB Streams API, feeds it to the handler and checks the
// audit trail: exactly one record per change, with its action, actor,
// request ID, source IP and diff, and no secret material.
func TestLifecycleBecomesTheAuditTrail(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	def := s.bootstrap(t, "acme")

	s.clock.Advance(time.Second)
	created, err := s.svc.Create(ctx, caller("acme", def.ID, "req-create"), apikey.CreateInput{
		Name: "CRM sync", Scopes: []string{"recordings:read"},
		AllowList: &apikey.AllowList{IPs: []string{"203.0.113.0/24"}}, Metadata: map[string]string{"owner": "ops"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.remember(created)
	s.clock.Advance(time.Second)
	name, meta := "CRM sync (EU)", map[string]string{"owner": "ops", "region": "eu"}
	if _, err := s.svc.Update(ctx, caller("acme", def.ID, "req-edit"), created.ID, apikey.PatchInput{Name: &name, Metadata: &meta}, nil); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Second)
	grace := 3600
	rotated, err := s.svc.Rotate(ctx, caller("acme", def.ID, "req-rotate"), created.ID, apikey.RotateInput{GracePeriodSeconds: &grace}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.remember(rotated)
	hashesBeforeRevoke := s.secretHashes(t, created.ID) // current and previous
	s.clock.Advance(time.Second)
	if _, err := s.svc.Revoke(ctx, caller("acme", def.ID, "req-revoke"), created.ID); err != nil {
		t.Fatal(err)
	}
	// Use of the key writes its usage item only: no record.
	if _, err := s.keys.TouchLastUsed(ctx, def.ID, s.clock.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}

	recs := s.next(t)
	if len(recs) < 6 {
		t.Fatalf("the stream holds %d records, want at least the 5 key writes and the usage write", len(recs))
	}
	if failed := s.handle(t, recs); len(failed) != 0 {
		t.Fatalf("failed records %v\n%s", failed, s.logs.String())
	}

	got := s.records(t, "acme")
	slices.Reverse(got) // oldest first
	type want struct {
		action  audit.Action
		keyID   string
		actor   string
		request string
		changes string
	}
	base := "2026-11-23T12:00:0"
	wants := []want{
		{audit.ActionCreated, def.ID, "bootstrap", "", ""},
		{audit.ActionCreated, created.ID, def.ID, "req-create",
			`{"allowList":{"from":null,"to":{"ips":["203.0.113.0/24"],"origins":[]}},"hint":{"from":null,"to":"` + created.Hint + `"},` +
				`"metadata":{"from":null,"to":{"owner":"ops"}},"name":{"from":null,"to":"CRM sync"},"scopes":{"from":null,"to":["recordings:read"]},` +
				`"status":{"from":null,"to":"active"},"type":{"from":null,"to":"client"}}`},
		{audit.ActionUpdated, created.ID, def.ID, "req-edit",
			`{"metadata":{"from":{"owner":"ops"},"to":{"owner":"ops","region":"eu"}},"name":{"from":"CRM sync","to":"CRM sync (EU)"}}`},
		{audit.ActionRotated, created.ID, def.ID, "req-rotate",
			`{"hint":{"from":"` + created.Hint + `","to":"` + rotated.Hint + `"},"previousSecretExpiresAt":{"from":null,"to":"2026-11-23T13:00:03Z"},` +
				`"rotatedAt":{"from":null,"to":"` + base + `3Z"}}`},
		{audit.ActionRevoked, created.ID, def.ID, "req-revoke",
			`{"previousSecretExpiresAt":{"from":"2026-11-23T13:00:03Z","to":null},"revokedAt":{"from":null,"to":"` + base + `4Z"},` +
				`"revokedBy":{"from":null,"to":"` + def.ID + `"},"status":{"from":"active","to":"revoked"}}`},
	}
	if len(got) != len(wants) {
		for _, r := range got {
			t.Logf("%s %s by %s", r.Action, r.KeyID, r.Actor)
		}
		t.Fatalf("%d audit records, want exactly %d (one per change)", len(got), len(wants))
	}
	for i, w := range wants {
		r := got[i]
		if r.Action != w.action || r.KeyID != w.keyID || r.Actor != w.actor || r.TenantID != "acme" {
			t.Errorf("record %d = %s of %s by %s, want %s of %s by %s", i, r.Action, r.KeyID, r.Actor, w.action, w.keyID, w.actor)
		}
		if wantAt := time.Date(2026, 11, 23, 12, 0, i, 0, time.UTC); !r.At.Equal(wantAt) {
			t.Errorf("record %d at %v, want %v (the write's updatedAt)", i, r.At, wantAt)
		}
		if w.request == "" {
			if r.RequestID != nil {
				t.Errorf("record %d: request %q, want none", i, *r.RequestID)
			}
		} else if r.RequestID == nil || *r.RequestID != w.request || r.SourceIP == nil || *r.SourceIP != "198.51.100.7" {
			t.Errorf("record %d: request %v, source %v; want %s from 198.51.100.7", i, r.RequestID, r.SourceIP, w.request)
		}
		if w.changes != "" {
			if c := changesOf(t, r); c != w.changes {
				t.Errorf("record %d (%s) changes\n%s\nwant\n%s", i, r.Action, c, w.changes)
			}
		}
	}

	t.Run("NoSecretMaterial", func(t *testing.T) {
		raw, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		for _, sec := range append(append([]string{}, s.secrets...), hashesBeforeRevoke...) {
			if strings.Contains(text, sec) {
				t.Fatalf("an audit record holds a secret, token or secret hash: %s", text)
			}
		}
		for _, word := range []string{"secretHash", "prevSecretHash", "pepper", "lastUsedAt", "ttl"} {
			if strings.Contains(text, word) {
				t.Errorf("an audit record mentions %s: %s", word, text)
			}
		}
	})

	t.Run("RedeliveryWritesNothingNew", func(t *testing.T) {
		if failed := s.handle(t, recs); len(failed) != 0 {
			t.Fatalf("failed records %v", failed)
		}
		if again := s.records(t, "acme"); len(again) != len(wants) {
			t.Fatalf("%d records after redelivery, want %d", len(again), len(wants))
		}
		// acme's five key records and its tenant.created (in the operator's trail).
		if !strings.Contains(s.logs.String(), `"duplicates":6`) {
			t.Errorf("the second batch did not report 6 duplicates:\n%s", s.logs.String())
		}
	})

	t.Run("NoOtherTenantSeesThem", func(t *testing.T) {
		if other := s.records(t, "globex"); len(other) != 0 {
			t.Errorf("globex has %d records", len(other))
		}
	})
}

// TestOnlyThePoisonRecordIsReported puts one record no audit record can be
// made from into a batch of real ones: only it is reported; the others are
// written.
func TestOnlyThePoisonRecordIsReported(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	def := s.bootstrap(t, "acme")
	s.next(t) // the bootstrap's records are not this test's

	a, err := s.svc.Create(ctx, caller("acme", def.ID, "req-a"), apikey.CreateInput{Name: "A", Scopes: []string{"recordings:read"}})
	if err != nil {
		t.Fatal(err)
	}
	s.remember(a)
	s.clock.Advance(time.Millisecond)
	b, err := s.svc.Create(ctx, caller("acme", def.ID, "req-b"), apikey.CreateInput{Name: "B", Scopes: []string{"recordings:read"}})
	if err != nil {
		t.Fatal(err)
	}
	s.remember(b)
	recs := s.next(t)

	var keyRecs []events.DynamoDBEventRecord
	for _, r := range recs {
		if r.Change.Keys["sk"].String() == "KEY" {
			keyRecs = append(keyRecs, r)
		}
	}
	if len(keyRecs) != 2 {
		t.Fatalf("%d key item records, want 2", len(keyRecs))
	}
	// The poison: a copy of the first key's INSERT whose scopes are a number
	// (an image nothing can decode), with a sequence number of its own.
	poison := keyRecs[0]
	poison.EventID += "-poison"
	poison.Change.SequenceNumber = "999999999999999999999"
	img := map[string]events.DynamoDBAttributeValue{}
	for k, v := range poison.Change.NewImage {
		img[k] = v
	}
	img["scopes"] = events.NewNumberAttribute("7")
	poison.Change.NewImage = img

	batch := append([]events.DynamoDBEventRecord{poison}, recs...)
	failed := s.handle(t, batch)
	if !slices.Equal(failed, []string{"999999999999999999999"}) {
		t.Fatalf("reported %v, want only the poison record", failed)
	}
	got := s.records(t, "acme")
	if len(got) != 2 || got[0].KeyID != b.ID || got[1].KeyID != a.ID {
		t.Fatalf("records %+v, want B's and A's creation", got)
	}
	if log := s.logs.String(); !strings.Contains(log, `"sequenceNumber":"999999999999999999999"`) || strings.Contains(log, "recordings:read") {
		t.Errorf("the failure log should name the record and no image values:\n%s", log)
	}
}

// TestChangesOfNothingAuditedMakeNoRecord checks that lastUsedAt, on the
// usage item or (as an older layout had it) on the key item itself, and
// writes of non-key items make no record.
func TestChangesOfNothingAuditedMakeNoRecord(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	def := s.bootstrap(t, "acme")
	s.handle(t, s.next(t))
	before := len(s.records(t, "acme"))

	if _, err := s.keys.TouchLastUsed(ctx, def.ID, s.clock.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "KEY#" + def.ID}, "sk": &types.AttributeValueMemberS{Value: "KEY"},
		},
		UpdateExpression:          aws.String("SET lastUsedAt = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: "2026-11-23T12:05:00.000Z"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A PATCH that changes nothing writes nothing either.
	same := "default"
	if _, err := s.svc.Update(ctx, caller("acme", def.ID, "req-noop"), def.ID, apikey.PatchInput{Name: &same}, nil); apikey.ErrorCode(err) != apikey.ECodeDefaultImmutable {
		t.Fatalf("update default key: %v", err)
	}

	recs := s.next(t)
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r.EventName+" "+r.Change.Keys["sk"].String())
	}
	if !slices.Contains(kinds, "MODIFY KEY") || !slices.Contains(kinds, "INSERT USAGE") {
		t.Fatalf("stream records %v, want the usage write and the key item's lastUsedAt write", kinds)
	}
	if failed := s.handle(t, recs); len(failed) != 0 {
		t.Fatalf("failed %v", failed)
	}
	if after := len(s.records(t, "acme")); after != before {
		t.Fatalf("%d records, want still %d", after, before)
	}
}

// TestPurgeByTTLIsBySystem deletes a revoked key item and delivers its real
// REMOVE record as DynamoDB's TTL process would (userIdentity Service,
// dynamodb.amazonaws.com), which DynamoDB Local does not run.
func TestPurgeByTTLIsBySystem(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	def := s.bootstrap(t, "acme")
	k, err := s.svc.Create(ctx, caller("acme", def.ID, "req-create"), apikey.CreateInput{Name: "Old", Scopes: []string{"recordings:read"}})
	if err != nil {
		t.Fatal(err)
	}
	s.remember(k)
	if _, err := s.svc.Revoke(ctx, caller("acme", def.ID, "req-revoke"), k.ID); err != nil {
		t.Fatal(err)
	}
	s.handle(t, s.next(t))

	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "KEY#" + k.ID}, "sk": &types.AttributeValueMemberS{Value: "KEY"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	recs := s.next(t)
	if len(recs) != 1 || recs[0].EventName != "REMOVE" {
		t.Fatalf("stream records %+v, want one REMOVE", recs)
	}
	recs[0].UserIdentity = &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}
	if failed := s.handle(t, recs); len(failed) != 0 {
		t.Fatalf("failed %v", failed)
	}
	var purges []audit.Record
	for _, r := range s.records(t, "acme") {
		if r.Action == audit.ActionPurged {
			purges = append(purges, r)
		}
	}
	if len(purges) != 1 || purges[0].Actor != audit.ActorSystem || purges[0].KeyID != k.ID {
		t.Fatalf("purges %+v, want one key.purged of %s by system", purges, k.ID)
	}
	p := purges[0]
	if p.RequestID != nil || p.SourceIP != nil {
		t.Errorf("a purge carries request %v, source %v", p.RequestID, p.SourceIP)
	}
	if !p.At.Equal(recs[0].Change.ApproximateCreationDateTime.Time) {
		t.Errorf("purged at %v, want the stream record's time %v", p.At, recs[0].Change.ApproximateCreationDateTime)
	}
	if c := p.Changes["status"]; c.From != "revoked" || c.To != nil {
		t.Errorf("purge changes %v, want status revoked → null", p.Changes)
	}
}
