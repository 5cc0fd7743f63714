// Package localevents is a local EventBridge endpoint for the workbench: it
// answers PutEvents as the aws-sdk-go-v2 eventbridge client sends it
// (POST /, X-Amz-Target: AWSEvents.PutEvents, JSON 1.1), appends each event
// in EventBridge's delivery envelope (id, detail-type, source, time, detail,
// ...) as one line of a JSONL file, and prints one line per event. It listens
// on loopback only. Buses it does not know are refused as EventBridge
// refuses them.
package localevents

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	// File receives one JSON line per event (created 0600, appended to).
	File string
	// Output receives one human-readable line per event (nil: none).
	Output io.Writer
	// Buses are the bus names (and ARNs) accepted; empty accepts any.
	Buses []string
	// Region and Account fill the envelope.
	Region, Account string
	// Now stamps events that carry no time (default time.Now).
	Now func() time.Time
}

// Envelope is an event as EventBridge delivers it to targets.
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Bus        string          `json:"event-bus-name"`
	Detail     json.RawMessage `json:"detail"`
}

// Server is the local endpoint.
type Server struct {
	cfg  Config
	mu   sync.Mutex
	file *os.File
}

// New opens cfg.File for appending and returns the Server.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f, err := os.OpenFile(cfg.File, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localevents: %w", err)
	}
	return &Server{cfg: cfg, file: f}, nil
}

// Start serves on addr (127.0.0.1:port, 0 picks one) and returns the
// endpoint URL for AWS_ENDPOINT_URL_EVENTBRIDGE and a stop function that
// also closes the file.
func (s *Server) Start(addr string) (url string, stop func() error, err error) {
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		return "", nil, fmt.Errorf("localevents: %s is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("localevents: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() error {
		err := srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		return errors.Join(err, s.file.Close())
	}, nil
}

type putEntry struct {
	Source       string    `json:"Source"`
	DetailType   string    `json:"DetailType"`
	Detail       string    `json:"Detail"`
	EventBusName string    `json:"EventBusName"`
	Resources    []string  `json:"Resources"`
	Time         *jsonTime `json:"Time"`
}

type resultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// ServeHTTP answers PutEvents; any other operation is refused.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || target != "AWSEvents.PutEvents" {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "only AWSEvents.PutEvents is served locally")
		return
	}
	var in struct{ Entries []putEntry }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", "request body is not JSON")
		return
	}
	if len(in.Entries) == 0 || len(in.Entries) > 10 {
		writeError(w, http.StatusBadRequest, "ValidationException", "Entries must hold 1 to 10 entries")
		return
	}
	out := struct {
		FailedEntryCount int
		Entries          []resultEntry
	}{Entries: make([]resultEntry, len(in.Entries))}
	for i, e := range in.Entries {
		res := s.put(e)
		if res.ErrorCode != "" {
			out.FailedEntryCount++
		}
		out.Entries[i] = res
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// put validates and records one entry.
func (s *Server) put(e putEntry) resultEntry {
	bus := e.EventBusName
	if bus == "" {
		bus = "default"
	}
	if !s.knownBus(bus) {
		return resultEntry{ErrorCode: "ResourceNotFoundException", ErrorMessage: "Event bus " + bus + " does not exist."}
	}
	if e.Source == "" || e.DetailType == "" || !json.Valid([]byte(e.Detail)) || !strings.HasPrefix(strings.TrimSpace(e.Detail), "{") {
		return resultEntry{ErrorCode: "MalformedDetail", ErrorMessage: "Source, DetailType and a JSON object Detail are required."}
	}
	at := s.cfg.Now().UTC()
	if e.Time != nil {
		at = time.Time(*e.Time).UTC()
	}
	env := Envelope{
		Version: "0", ID: newID(), DetailType: e.DetailType, Source: e.Source,
		Account: s.cfg.Account, Time: at, Region: s.cfg.Region, Resources: nonNil(e.Resources),
		Bus: bus, Detail: json.RawMessage(e.Detail),
	}
	line, err := json.Marshal(env)
	if err != nil {
		return resultEntry{ErrorCode: "InternalException", ErrorMessage: "cannot encode event"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.file.Write(append(line, '\n')); err != nil {
		return resultEntry{ErrorCode: "InternalException", ErrorMessage: "cannot record event"}
	}
	if s.cfg.Output != nil {
		fmt.Fprintln(s.cfg.Output, Summary(env))
	}
	return resultEntry{EventID: env.ID}
}

// Summary is the one line printed for an event: its type and the detail's
// identifying fields.
func Summary(env Envelope) string {
	var d struct {
		EventID  string `json:"eventId"`
		TenantID string `json:"tenantId"`
		KeyID    string `json:"keyId"`
		KeyName  string `json:"keyName"`
		Actor    string `json:"actor"`
	}
	_ = json.Unmarshal(env.Detail, &d)
	var b bytes.Buffer
	fmt.Fprintf(&b, "event %s", env.DetailType)
	for _, kv := range [][2]string{{"tenant", d.TenantID}, {"key", d.KeyID}, {"name", d.KeyName}, {"actor", d.Actor}, {"eventId", d.EventID}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%q", kv[0], kv[1])
		}
	}
	return b.String()
}

func (s *Server) knownBus(bus string) bool {
	if len(s.cfg.Buses) == 0 {
		return true
	}
	for _, b := range s.cfg.Buses {
		if b == bus {
			return true
		}
	}
	return false
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jsonTime reads the SDK's timestamps: epoch seconds, possibly fractional.
type jsonTime time.Time

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	sec := int64(f)
	*t = jsonTime(time.Unix(sec, int64((f-float64(sec))*1e9)))
	return nil
}

// ReadFile returns the envelopes recorded in a JSONL file, in order.
func ReadFile(path string) ([]Envelope, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Envelope
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Envelope
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("localevents: %s: %w", path, err)
		}
		out = append(out, e)
	}
	return out, nil
}
