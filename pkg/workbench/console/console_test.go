package console

import (
	"bytes"
	"strings"
	"testing"
)

func TestPrefixedWritesWholeLines(t *testing.T) {
	var out bytes.Buffer
	c := New(&out)
	w := c.Prefixed("api")
	for _, part := range []string{"first li", "ne\r\nsecond line\nthi", "rd"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := out.String(), "[api] first line\n[api] second line\n"; got != want {
		t.Fatalf("console = %q, want %q (the unterminated line waits)", got, want)
	}
	_ = w.(*Lines).Close()
	if !strings.HasSuffix(out.String(), "[api] third\n") {
		t.Fatalf("console after Close = %q, want the last line flushed", out.String())
	}
}

func TestLinesSplitsOverlongLines(t *testing.T) {
	var got [][]byte
	l := NewLines(lineFunc(func(b []byte) { got = append(got, append([]byte(nil), b...)) }))
	_, _ = l.Write(bytes.Repeat([]byte("x"), MaxLine+10))
	if len(got) != 1 || len(got[0]) != MaxLine {
		t.Fatalf("parts %d, want one part of MaxLine before the newline", len(got))
	}
}
