package authorizer

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/keyward/keyward/pkg/lastused"
)

// HandleLambda is the function's Lambda handler (lambda.Start(a.HandleLambda)):
// it answers as HandleEvent, but without waiting for the key's lastUsedAt
// write first. The answer is a Response, whose Close waits for that write;
// aws-lambda-go calls Close after it has posted the answer to the Runtime
// API and before it asks for the next event. The caller so gets its answer
// while the write is in flight, and the write still ends (bounded by
// lastused.DefaultTimeout) before Lambda may freeze the process, which it
// does only once the next event is asked for: no write waits for a later
// invocation or is lost with a container that gets none.
func (a *Authorizer) HandleLambda(ctx context.Context, raw json.RawMessage) (*Response, error) {
	resp, usage, err := a.event(ctx, raw)
	if err != nil {
		usage.Wait() // an error is posted without a Response to close
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as aws-lambda-go encodes a handler's value
	if err := enc.Encode(resp); err != nil {
		usage.Wait()
		return nil, ErrFailure
	}
	b.Truncate(b.Len() - 1) // the encoder's newline
	return &Response{body: bytes.NewReader(b.Bytes()), after: usage}, nil
}

// Response is an answer as the Lambda runtime posts it: its JSON, read
// through Read, and the work Close waits for (aws-lambda-go closes a
// handler's io.Reader answer once it has posted it). It has no exported
// fields, so aws-lambda-go posts what Read returns rather than encoding it.
type Response struct {
	body  *bytes.Reader
	after lastused.Pending
}

// Read reads the answer's JSON.
func (r *Response) Read(p []byte) (int, error) { return r.body.Read(p) }

// Close waits for the lastUsedAt write started by the answer, if any.
func (r *Response) Close() error {
	r.after.Wait()
	return nil
}

// ContentType is the answer's media type, as the Runtime API is told.
func (r *Response) ContentType() string { return "application/json" }
