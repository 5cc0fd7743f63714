package auditstore_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// Key IDs and actors of the seeded records.
const (
	keyA   = "key_01JD6B0C3XH5Q2M9T7R4W8N1PA"
	keyB   = "key_01JD6B0C3XH5Q2M9T7R4W8N1PB"
	keyC   = "key_01JD6B0C3XH5Q2M9T7R4W8N1PC"
	admin  = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z"
	robot  = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y3Z"
	tenant = "acme"
)

func newStore(t *testing.T) (*auditstore.Store, *dynamodb.Client, string) {
	t.Helper()
	table := ddblocaltest.Tables(t)["AuditTable"]
	if table == "" {
		t.Fatal("template.yaml has no AuditTable")
	}
	db := ddblocal.Client(ddblocaltest.Shared(t).Endpoint)
	return auditstore.New(db, table, 400*24*time.Hour), db, table
}

func record(tenant string, i int, key string, action audit.Action, actor string, at time.Time) audit.Record {
	req, ip := "req-"+strconv.Itoa(i), "198.51.100.7"
	return audit.Record{
		ID: audit.RecordID("event-"+tenant+strconv.Itoa(i), strconv.Itoa(i)), TenantID: tenant, KeyID: key,
		Action: action, Actor: actor, At: at, RequestID: &req, SourceIP: &ip,
		Changes: map[string]audit.FieldChange{"name": {From: "old " + strconv.Itoa(i), To: "new " + strconv.Itoa(i)}},
	}
}

func put(t *testing.T, s *auditstore.Store, r audit.Record) {
	t.Helper()
	wrote, err := s.Put(context.Background(), r)
	if err != nil || !wrote {
		t.Fatalf("put %s: %v, %v", r.ID, wrote, err)
	}
}

func TestPutIsAppendOnlyAndIdempotent(t *testing.T) {
	ctx := context.Background()
	s, db, table := newStore(t)
	r := record(tenant, 1, keyA, audit.ActionUpdated, admin, t0.Add(123*time.Millisecond))
	put(t, s, r)

	t.Run("ASecondPutWritesNothing", func(t *testing.T) {
		changed := r
		changed.Actor = "someone-else"
		wrote, err := s.Put(ctx, changed)
		if err != nil || wrote {
			t.Fatalf("second put = %v, %v; want false, nil", wrote, err)
		}
		got, _, err := s.Query(ctx, audit.Query{TenantID: tenant, Limit: 10})
		if err != nil || len(got) != 1 || got[0].Actor != admin {
			t.Fatalf("records = %+v, %v; want the first one only", got, err)
		}
	})
	t.Run("ReadsBackAsWritten", func(t *testing.T) {
		got, _, err := s.Query(ctx, audit.Query{TenantID: tenant, Limit: 10})
		if err != nil || len(got) != 1 {
			t.Fatal(got, err)
		}
		g := got[0]
		if g.ID != r.ID || g.TenantID != tenant || g.KeyID != keyA || g.Action != r.Action || !g.At.Equal(r.At) ||
			*g.RequestID != "req-1" || *g.SourceIP != "198.51.100.7" || g.Changes["name"].From != "old 1" || g.Changes["name"].To != "new 1" {
			t.Errorf("read back %+v", g)
		}
	})
	t.Run("ExpiresAfterTheRetention", func(t *testing.T) {
		out, err := db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "TENANT#" + tenant}},
		})
		if err != nil || len(out.Items) != 1 {
			t.Fatal(out, err)
		}
		n, ok := out.Items[0]["ttl"].(*types.AttributeValueMemberN)
		if want := strconv.FormatInt(r.At.Add(400*24*time.Hour).Unix(), 10); !ok || n.Value != want {
			t.Errorf("ttl = %v, want %s", out.Items[0]["ttl"], want)
		}
	})
}

// seed writes 40 records of acme (three keys, two actors, every action, a
// minute apart, two of them in the same millisecond) and 10 of globex about
// the same keys, and returns acme's records newest first.
func seed(t *testing.T, s *auditstore.Store) []audit.Record {
	t.Helper()
	actions := audit.Actions
	keys := []string{keyA, keyB, keyC}
	var acme []audit.Record
	for i := 0; i < 40; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		if i == 21 {
			at = acme[20].At // same millisecond as the previous one: ordered by ID
		}
		actor := admin
		if i%5 == 4 {
			actor = robot
		}
		if i%7 == 6 {
			actor = audit.ActorSystem
		}
		r := record(tenant, i, keys[i%3], actions[i%len(actions)], actor, at)
		put(t, s, r)
		acme = append(acme, r)
	}
	for i := 0; i < 10; i++ {
		put(t, s, record("globex", i, keys[i%3], actions[i%len(actions)], admin, t0.Add(time.Duration(i)*time.Minute+time.Second)))
	}
	slices.SortFunc(acme, func(a, b audit.Record) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		if a.ID > b.ID {
			return -1
		}
		return 1
	})
	return acme
}

func matching(all []audit.Record, keep func(r audit.Record) bool) []string {
	var out []string
	for _, r := range all {
		if keep(r) {
			out = append(out, r.ID)
		}
	}
	return out
}

// readAll pages through q with limit and checks every page: full but the
// last, never empty while a cursor is issued, no cursor on the last.
func readAll(t *testing.T, s *auditstore.Store, q audit.Query) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("more than 100 pages")
		}
		got, next, err := s.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, r := range got {
			if r.TenantID != q.TenantID {
				t.Fatalf("record %s of tenant %s in %s's query", r.ID, r.TenantID, q.TenantID)
			}
			ids = append(ids, r.ID)
		}
		if next == "" {
			return ids
		}
		if len(got) != q.Limit {
			t.Fatalf("page %d has %d records and a cursor; want %d", pages, len(got), q.Limit)
		}
		q.After = next
	}
}

func TestQuery(t *testing.T) {
	s, _, _ := newStore(t)
	all := seed(t, s)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	cases := []struct {
		name string
		q    audit.Query
		keep func(r audit.Record) bool
	}{
		{"EverythingNewestFirst", audit.Query{}, func(audit.Record) bool { return true }},
		{"OneKey", audit.Query{KeyID: keyB}, func(r audit.Record) bool { return r.KeyID == keyB }},
		{"OneActor", audit.Query{Actor: robot}, func(r audit.Record) bool { return r.Actor == robot }},
		{"OneAction", audit.Query{Action: audit.ActionRevoked}, func(r audit.Record) bool { return r.Action == audit.ActionRevoked }},
		{"ActorAndAction", audit.Query{Actor: admin, Action: audit.ActionCreated}, func(r audit.Record) bool {
			return r.Actor == admin && r.Action == audit.ActionCreated
		}},
		{"KeyActorAndAction", audit.Query{KeyID: keyA, Actor: admin, Action: audit.ActionUpdated}, func(r audit.Record) bool {
			return r.KeyID == keyA && r.Actor == admin && r.Action == audit.ActionUpdated
		}},
		{"FromIsInclusive", audit.Query{From: at(30)}, func(r audit.Record) bool { return !r.At.Before(at(30)) }},
		{"ToIsExclusive", audit.Query{To: at(10)}, func(r audit.Record) bool { return r.At.Before(at(10)) }},
		{"FromAndTo", audit.Query{From: at(5), To: at(25), Action: audit.ActionUpdated}, func(r audit.Record) bool {
			return !r.At.Before(at(5)) && r.At.Before(at(25)) && r.Action == audit.ActionUpdated
		}},
		{"SubMillisecondBoundsRoundUp", audit.Query{From: at(3).Add(time.Microsecond), To: at(6).Add(time.Microsecond)}, func(r audit.Record) bool {
			return r.At.After(at(3)) && !r.At.After(at(6))
		}},
		{"NoMatch", audit.Query{Actor: "nobody"}, func(audit.Record) bool { return false }},
	}
	for _, c := range cases {
		want := matching(all, c.keep)
		for _, limit := range []int{1, 3, 7, 100} {
			t.Run(fmt.Sprintf("%s/limit%d", c.name, limit), func(t *testing.T) {
				q := c.q
				q.TenantID, q.Limit = tenant, limit
				if got := readAll(t, s, q); !slices.Equal(got, want) {
					t.Errorf("got %d records %v\nwant %d %v", len(got), got, len(want), want)
				}
			})
		}
	}
	t.Run("ExactlyAPageLeavesNoCursor", func(t *testing.T) {
		want := matching(all, func(r audit.Record) bool { return r.KeyID == keyC })
		got, next, err := s.Query(context.Background(), audit.Query{TenantID: tenant, KeyID: keyC, Limit: len(want)})
		if err != nil || len(got) != len(want) || next != "" {
			t.Fatalf("got %d records, cursor %q, %v; want %d and no cursor", len(got), next, err, len(want))
		}
	})
	t.Run("AnotherTenantsKeySeesNothing", func(t *testing.T) {
		got := readAll(t, s, audit.Query{TenantID: "initech", KeyID: keyA, Limit: 10})
		if len(got) != 0 {
			t.Errorf("initech sees %v", got)
		}
		globex := readAll(t, s, audit.Query{TenantID: "globex", KeyID: keyA, Limit: 10})
		if len(globex) != 4 {
			t.Errorf("globex sees %d records of key A, want its own 4", len(globex))
		}
	})
	t.Run("AContinuationThatIsNoSortKeyIsRefused", func(t *testing.T) {
		for _, after := range []string{"x", "TENANT#globex", "2026-11-23T12:00:00.000Z#other", "2026-13-23T12:00:00.000Z#aud_1"} {
			_, _, err := s.Query(context.Background(), audit.Query{TenantID: tenant, Limit: 1, After: after})
			if e, ok := apikey.AsError(err); !ok || e.Field != "cursor" {
				t.Errorf("After %q: err = %v, want invalid cursor", after, err)
			}
		}
	})
}

func TestQueryReadBudget(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	// 12 updates by admin, then one revocation by admin (the oldest).
	put(t, s, record(tenant, 0, keyA, audit.ActionRevoked, admin, t0))
	for i := 1; i <= 12; i++ {
		put(t, s, record(tenant, i, keyA, audit.ActionUpdated, admin, t0.Add(time.Duration(i)*time.Second)))
	}
	auditstore.SetReadBudget(s, 2, 3) // two reads of three records per query

	t.Run("NothingFoundWithinTheBudgetIsUnavailable", func(t *testing.T) {
		_, _, err := s.Query(ctx, audit.Query{TenantID: tenant, KeyID: keyA, Action: audit.ActionRevoked, Limit: 5})
		if apikey.ErrorCode(err) != apikey.ECodeUnavailable {
			t.Fatalf("err = %v, want unavailable", err)
		}
	})
	t.Run("AnActorsRecordsOfOneActionAreAnIndexNotAFilter", func(t *testing.T) {
		// The budget that found nothing above: the revocation sits behind
		// 12 updates by the same actor, but byActorAction holds only it.
		got, next, err := s.Query(ctx, audit.Query{TenantID: tenant, Actor: admin, Action: audit.ActionRevoked, Limit: 5})
		if err != nil || len(got) != 1 || got[0].Action != audit.ActionRevoked || next != "" {
			t.Fatalf("got %+v, %q, %v; want the one revocation", got, next, err)
		}
	})
	t.Run("SomethingFoundIsReturnedWithACursorToGoOn", func(t *testing.T) {
		s2, _, _ := newStore(t)
		auditstore.SetReadBudget(s2, 2, 3)
		for i := 0; i < 12; i++ {
			a := audit.ActionUpdated
			if i == 8 || i == 2 {
				a = audit.ActionRevoked
			}
			put(t, s2, record(tenant, i, keyA, a, admin, t0.Add(time.Duration(i)*time.Second)))
		}
		q := audit.Query{TenantID: tenant, KeyID: keyA, Action: audit.ActionRevoked, Limit: 5}
		got, next, err := s2.Query(ctx, q)
		if err != nil || len(got) != 1 || next == "" {
			t.Fatalf("got %d, %q, %v; want the one revocation within budget and a cursor", len(got), next, err)
		}
		ids := []string{got[0].ID}
		for pages := 0; next != ""; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			q.After = next
			if got, next, err = s2.Query(ctx, q); err != nil {
				t.Fatal(err)
			}
			if next != "" && len(got) == 0 {
				t.Fatal("an empty page with a cursor")
			}
			for _, r := range got {
				ids = append(ids, r.ID)
			}
		}
		if len(ids) != 2 || ids[0] == ids[1] {
			t.Errorf("read %v, want both revocations", ids)
		}
	})
}
