package localstack

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
)

// console serialises whole lines from every component onto one writer, each
// with its component's prefix, so concurrent output never interleaves
// mid-line.
type console struct {
	mu  sync.Mutex
	out io.Writer
}

// prefixed returns a writer that writes complete lines to the console,
// prefixed with "[name] ". A Write may hold several lines or part of one.
func (c *console) prefixed(name string) io.Writer {
	return &prefixWriter{c: c, prefix: []byte("[" + name + "] ")}
}

// logger returns a slog logger writing compact text lines (no time: the
// console is read live) with the component's prefix.
func (c *console) logger(name string, level slog.Level) *slog.Logger {
	h := slog.NewTextHandler(c.prefixed(name), &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(h)
}

func (c *console) writeLine(prefix, line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	buf := make([]byte, 0, len(prefix)+len(line)+1)
	buf = append(append(append(buf, prefix...), line...), '\n')
	_, _ = c.out.Write(buf)
}

type prefixWriter struct {
	c      *console
	prefix []byte
	mu     sync.Mutex
	buf    []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.c.writeLine(w.prefix, bytes.TrimSuffix(w.buf[:i], []byte{'\r'}))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return len(p), nil
}

// lineWriter adapts a writer that receives one complete line per Write
// (lambdaemu's Output) to the console.
type lineWriter struct {
	c      *console
	prefix []byte
}

func (w lineWriter) Write(p []byte) (int, error) {
	w.c.writeLine(w.prefix, p)
	return len(p), nil
}
