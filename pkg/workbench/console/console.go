// Package console is the local tooling's one way to show logs: a Console
// serialises whole lines from every component (emulators, child processes,
// functions) onto one writer, each with its component's prefix, and Lines
// splits a byte stream into those lines. Development tooling only.
package console

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
)

// Console writes whole prefixed lines to one writer, so concurrent output
// never interleaves mid-line.
type Console struct {
	mu  sync.Mutex
	out io.Writer
}

// New returns a Console writing to out.
func New(out io.Writer) *Console { return &Console{out: out} }

// WriteLine writes prefix, line and a newline in one Write.
func (c *Console) WriteLine(prefix, line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	buf := make([]byte, 0, len(prefix)+len(line)+1)
	buf = append(append(append(buf, prefix...), line...), '\n')
	_, _ = c.out.Write(buf)
}

// Prefixed returns a writer that splits what it gets into lines and writes
// each to the console prefixed with "[name] ".
func (c *Console) Prefixed(name string) io.Writer {
	prefix := []byte("[" + name + "] ")
	return NewLines(lineFunc(func(line []byte) { c.WriteLine(prefix, line) }))
}

// LinePrefixed returns a writer for callers that write exactly one line
// per Write (such as lambdaemu's Output): each Write is one prefixed line.
func (c *Console) LinePrefixed(name string) io.Writer {
	prefix := []byte("[" + name + "] ")
	return lineFunc(func(line []byte) { c.WriteLine(prefix, line) })
}

// Logger returns a slog logger writing compact text lines (no time: the
// console is read live) with the component's prefix.
func (c *Console) Logger(name string, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(c.Prefixed(name), &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

type lineFunc func(line []byte)

func (f lineFunc) Write(p []byte) (int, error) {
	f(p)
	return len(p), nil
}

// MaxLine bounds a line Lines keeps in memory; longer lines are passed on
// in parts.
const MaxLine = 64 << 10

// Lines splits what is written to it into lines and writes each line
// (without its newline or a trailing \r) to dst in one Write.
type Lines struct {
	mu  sync.Mutex
	dst io.Writer
	buf []byte
}

// NewLines returns a Lines writing to dst.
func NewLines(dst io.Writer) *Lines { return &Lines{dst: dst} }

func (l *Lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		_, _ = l.dst.Write(bytes.TrimSuffix(l.buf[:i], []byte{'\r'}))
		l.buf = l.buf[i+1:]
	}
	for len(l.buf) > MaxLine {
		_, _ = l.dst.Write(l.buf[:MaxLine])
		l.buf = l.buf[MaxLine:]
	}
	if len(l.buf) == 0 {
		l.buf = nil
	}
	return len(p), nil
}

// Close writes a final unterminated line.
func (l *Lines) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		_, _ = l.dst.Write(l.buf)
		l.buf = nil
	}
	return nil
}
