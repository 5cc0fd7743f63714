package auditstream

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	streamstypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/workbench/ddbstream"
)

// captureAppender keeps the audit records a handler writes.
type captureAppender struct {
	mu      sync.Mutex
	records []audit.Record
}

func (a *captureAppender) Put(_ context.Context, r audit.Record) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, r)
	return true, nil
}

// lockedBuffer is a log sink safe for the handler's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Planted secret hashes: whatever else an image holds, these never leave the
// stream consumer.
var (
	plantedNew  = []byte("the-secret-hash:0123456789abcdef!")
	plantedPrev = []byte("PREV-secret-hash:00112233445566778")
)

// secretSpellings are the ways a secret hash could show up in a record or a
// log line.
func secretSpellings(b []byte) []string {
	return []string{string(b), base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b))}
}

// streamsValue is a Lambda attribute value as the DynamoDB Streams API gives
// it: the inverse of ddbstream.AttributeValue.
func streamsValue(v events.DynamoDBAttributeValue) streamstypes.AttributeValue {
	switch v.DataType() {
	case events.DataTypeString:
		return &streamstypes.AttributeValueMemberS{Value: v.String()}
	case events.DataTypeNumber:
		return &streamstypes.AttributeValueMemberN{Value: v.Number()}
	case events.DataTypeBinary:
		return &streamstypes.AttributeValueMemberB{Value: v.Binary()}
	case events.DataTypeBoolean:
		return &streamstypes.AttributeValueMemberBOOL{Value: v.Boolean()}
	case events.DataTypeStringSet:
		return &streamstypes.AttributeValueMemberSS{Value: v.StringSet()}
	case events.DataTypeNumberSet:
		return &streamstypes.AttributeValueMemberNS{Value: v.NumberSet()}
	case events.DataTypeBinarySet:
		return &streamstypes.AttributeValueMemberBS{Value: v.BinarySet()}
	case events.DataTypeList:
		var l []streamstypes.AttributeValue
		for _, e := range v.List() {
			l = append(l, streamsValue(e))
		}
		return &streamstypes.AttributeValueMemberL{Value: l}
	case events.DataTypeMap:
		m := map[string]streamstypes.AttributeValue{}
		for k, e := range v.Map() {
			m[k] = streamsValue(e)
		}
		return &streamstypes.AttributeValueMemberM{Value: m}
	}
	return &streamstypes.AttributeValueMemberNULL{Value: true}
}

const fuzzKeyImage = `{
 "pk":{"S":"KEY#key_01JD6B0C3XH5Q2M9T7R4W8N1PA"},"sk":{"S":"KEY"},
 "id":{"S":"key_01JD6B0C3XH5Q2M9T7R4W8N1PA"},"tenantId":{"S":"acme"},"name":{"S":"CRM sync"},
 "type":{"S":"client"},"scopes":{"L":[{"S":"recordings:read"}]},"allowIps":{"L":[{"S":"10.1.2.0/24"}]},
 "allowOrigins":{"L":[]},"metadata":{"M":{"team":{"S":"bi"}}},"status":{"S":"active"},"isDefault":{"BOOL":false},
 "hint":{"S":"kw_01JD6B…abcd"},"createdAt":{"S":"2026-11-23T12:00:00.000Z"},"createdBy":{"S":"key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z"},
 "updatedAt":{"S":"2026-11-23T12:00:00.000Z"},"updatedBy":{"S":"key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z"},"version":{"N":"1"},
 "pepperVersion":{"N":"1"},"requestId":{"S":"req-1"},"sourceIp":{"S":"203.0.113.7"}}`

// FuzzStreamImage feeds arbitrary stream images (DynamoDB attribute-value
// JSON, as Lambda delivers them) to the audit trail's stream consumer and to
// the store's decoder: nothing panics; the SDK ↔ Lambda converters agree; a
// decoded key, an audit record and a log line never hold a secret hash, in
// any spelling, and a record's changes name only audited fields.
func FuzzStreamImage(f *testing.F) {
	// mod returns img with attr set to val (attribute-value JSON).
	mod := func(img, attr, val string) string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(img), &m); err != nil {
			f.Fatal(err)
		}
		m[attr] = json.RawMessage(val)
		b, err := json.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		return string(b)
	}
	for _, s := range []struct{ old, new string }{
		{"", fuzzKeyImage},
		{fuzzKeyImage, mod(fuzzKeyImage, "name", `{"S":"CRM sync (EU)"}`)},
		{fuzzKeyImage, mod(fuzzKeyImage, "version", `{"N":"2"}`)},
		{fuzzKeyImage, mod(fuzzKeyImage, "status", `{"S":"revoked"}`)},
		{fuzzKeyImage, ""},
		{fuzzKeyImage, mod(fuzzKeyImage, "version", `{"S":"two"}`)},
		{fuzzKeyImage, mod(fuzzKeyImage, "version", `{"N":"1e400"}`)},
		{fuzzKeyImage, mod(fuzzKeyImage, "scopes", `{"SS":["a","b"]}`)},
		{fuzzKeyImage, mod(fuzzKeyImage, "metadata", `{"L":[{"NULL":true}]}`)},
		{fuzzKeyImage, mod(fuzzKeyImage, "expiresAt", `{"S":"not a time"}`)},
		{fuzzKeyImage, mod(fuzzKeyImage, "secretHash", `{"S":"secret-hash-as-a-string!"}`)},
		{fuzzKeyImage, mod(fuzzKeyImage, "pepperVersion", `{"B":"AAAA"}`)},
		{`{"sk":{"S":"KEY"}}`, `{"sk":{"S":"KEY"},"id":{"NULL":true}}`},
		{`{}`, `{"metadata":{"M":{"a":{"M":{"b":{"L":[{"BS":["AAAA"]}]}}}}}}`},
		{`{"name":{"B":"not base64!"}}`, `{"name":{"X":"unknown type"}}`},
		{`{"ttl":{"N":"-1"}}`, `{"ttl":{"N":"99999999999999999999"}}`},
	} {
		kind := uint8(1) // MODIFY
		switch {
		case s.old == "":
			kind = 0 // INSERT
		case s.new == "":
			kind = 2 // REMOVE
		}
		f.Add(s.old, s.new, kind, s.new == "")
	}
	f.Fuzz(func(t *testing.T, oldJSON, newJSON string, kind uint8, byTTL bool) {
		decode := func(s string) (map[string]events.DynamoDBAttributeValue, bool) {
			if s == "" {
				return nil, true
			}
			var m map[string]events.DynamoDBAttributeValue
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				return nil, false
			}
			return m, true
		}
		oldImg, ok1 := decode(oldJSON)
		newImg, ok2 := decode(newJSON)
		if !ok1 || !ok2 {
			return
		}
		// The SDK and Lambda forms of every value convert back and forth unchanged.
		for _, img := range []map[string]events.DynamoDBAttributeValue{oldImg, newImg} {
			for name, v := range img {
				back := ddbstream.AttributeValue(streamsValue(v))
				a, errA := json.Marshal(v)
				b, errB := json.Marshal(back)
				if errA != nil || errB != nil || !bytes.Equal(a, b) {
					t.Fatalf("%s: %s converts back as %s (%v, %v)", name, a, b, errA, errB)
				}
			}
		}
		// Plant secret hashes; keep any the fuzzer wrote, and never let those out either.
		secrets := [][]byte{plantedNew, plantedPrev}
		plant := func(img map[string]events.DynamoDBAttributeValue, hash []byte) {
			if img == nil {
				return
			}
			for name, planted := range map[string][]byte{attrSecret: hash, "prevSecretHash": plantedPrev} {
				v, ok := img[name]
				if !ok {
					img[name] = events.NewBinaryAttribute(planted)
					continue
				}
				switch v.DataType() {
				case events.DataTypeBinary:
					secrets = append(secrets, v.Binary())
				case events.DataTypeString:
					secrets = append(secrets, []byte(v.String()))
				}
			}
		}
		plant(oldImg, plantedNew) // the same hash: a change, not a rotation
		plant(newImg, plantedNew)
		leaks := func(where, s string) {
			t.Helper()
			for _, sec := range secrets {
				for _, spelling := range secretSpellings(sec) {
					if len(spelling) >= 8 && strings.Contains(s, spelling) {
						t.Fatalf("%s holds a secret hash (%q): %s", where, spelling, s)
					}
				}
			}
		}

		// The store's decoder, straight.
		for _, img := range []map[string]events.DynamoDBAttributeValue{oldImg, newImg} {
			if img == nil {
				continue
			}
			k, err := dynamostore.DecodeKeyItem(dynamostore.FromStreamImage(img))
			if err != nil {
				leaks("a decode error", err.Error())
				continue
			}
			pub, _ := json.Marshal(k.Public(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)))
			leaks("a decoded key", string(pub))
		}

		// The whole consumer.
		rec := events.DynamoDBEventRecord{
			EventID:   "ev-1",
			EventName: []string{"INSERT", "MODIFY", "REMOVE"}[int(kind)%3],
			Change: events.DynamoDBStreamRecord{
				Keys:                        map[string]events.DynamoDBAttributeValue{attrSK: events.NewStringAttribute(skKeyItem)},
				NewImage:                    newImg,
				OldImage:                    oldImg,
				SequenceNumber:              "100",
				ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Date(2026, 11, 23, 12, 0, 1, 0, time.UTC)},
				StreamViewType:              "NEW_AND_OLD_IMAGES",
			},
		}
		if byTTL {
			rec.UserIdentity = &events.DynamoDBUserIdentity{Type: ttlIdentityType, PrincipalID: ttlPrincipal}
		}
		store := &captureAppender{}
		logs := &lockedBuffer{}
		h := New(store, slog.New(slog.NewJSONHandler(logs, nil)))
		resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}})
		if err != nil {
			t.Fatalf("Handle returned an error: %v", err)
		}
		if strings.Contains(logs.String(), "panic") {
			t.Fatalf("the consumer panicked: %s", logs.String())
		}
		leaks("the consumer's log", logs.String())
		if len(resp.BatchItemFailures) > 0 && len(store.records) > 0 {
			t.Fatalf("record both written and reported failed")
		}
		for _, r := range store.records {
			b, _ := json.Marshal(r)
			leaks("an audit record", string(b))
			for field := range r.Changes {
				if !slices.Contains(audit.AuditedFields(), field) {
					t.Fatalf("record changes name %q, which is not audited: %s", field, b)
				}
			}
		}
	})
}
