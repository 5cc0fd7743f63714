package keywardtest

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// LogBuffer collects log output written from any goroutine. The zero value
// is ready to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logger returns a JSON logger at debug level writing to b, so that a test
// sees every line the code under test could log.
func (b *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// CheckNoSecrets fails tb if, when tb finishes, b holds any of *secrets.
// It reads *secrets then, so the test may append to it as it issues keys.
func (b *LogBuffer) CheckNoSecrets(tb testing.TB, secrets *[]string) {
	tb.Helper()
	tb.Cleanup(func() {
		out := b.String()
		for _, sec := range *secrets {
			if strings.Contains(out, sec) {
				tb.Errorf("a secret, token or credential reached the logs:\n%s", out)
				return
			}
		}
	})
}
