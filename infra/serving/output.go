package serving

import (
	"bytes"
	"io"
	"sync"
)

// maxLineBytes bounds how much of a line without a newline is held back;
// a longer line is written in pieces, each behind the prefix.
const maxLineBytes = 64 << 10

// sharedOutput is the runtime's output, written one whole line at a time
// so that the lines of concurrent instances never interleave. It is safe
// for concurrent use.
type sharedOutput struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *sharedOutput) writeLine(prefix string, line []byte) {
	buf := make([]byte, 0, len(prefix)+len(line)+1)
	buf = append(append(append(buf, prefix...), line...), '\n')
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(buf) // The runtime's output failing must not fail an instance.
}

// lineWriter is the Stdout or Stderr of one instance: it copies each line
// to the shared output behind prefix. os/exec writes to it from a single
// goroutine, and flush must be called once that goroutine is done (after
// Cmd.Wait returns) to write a last line that has no newline.
type lineWriter struct {
	out     *sharedOutput
	prefix  string
	pending bytes.Buffer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.pending.Write(p)
	for {
		i := bytes.IndexByte(w.pending.Bytes(), '\n')
		if i < 0 {
			break
		}
		w.out.writeLine(w.prefix, w.pending.Next(i + 1)[:i])
	}
	if w.pending.Len() >= maxLineBytes {
		w.flush()
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	if w.pending.Len() > 0 {
		w.out.writeLine(w.prefix, w.pending.Bytes())
		w.pending.Reset()
	}
}
