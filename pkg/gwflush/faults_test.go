package gwflush_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/gwflush"
)

// outcome is what the stub service answers.
type outcome struct {
	err     error
	results []apikey.BatchResult
}

// stub answers every call with its outcome; a unit test's small interface
// in place of the key service.
type stub struct{ outcome }

func (s stub) Revoke(context.Context, apikey.Caller, string) (*apikey.Key, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &apikey.Key{Status: apikey.StatusRevoked}, nil
}

func (s stub) BatchRevoke(context.Context, apikey.Caller, []string) ([]apikey.BatchResult, error) {
	return s.results, s.err
}

func (s stub) Update(context.Context, apikey.Caller, string, apikey.PatchInput, *int64) (*apikey.Key, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &apikey.Key{}, nil
}

func (s stub) Rotate(context.Context, apikey.Caller, string, apikey.RotateInput, *int64) (*apikey.Issued, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &apikey.Issued{}, nil
}

// TestAChangeThatMayHaveBeenMadeFlushes: the flush follows a success and a
// failure that does not say whether the write committed (internal,
// unavailable), whatever the call answers; a refusal changed nothing and
// does not flush. A batch flushes once if any ID may have been revoked.
func TestAChangeThatMayHaveBeenMadeFlushes(t *testing.T) {
	gw := newGateway(t)
	f := gwflush.New(gw.client(), gwflush.Stage{APIID: "abc123def4", Name: "prod"}, slog.New(slog.DiscardHandler))
	internal := errors.New("update key: operation error DynamoDB: PutItem: connection reset")
	results := func(codes ...apikey.Code) []apikey.BatchResult {
		var out []apikey.BatchResult
		for _, c := range codes {
			if c == "" {
				out = append(out, apikey.BatchResult{ID: "k", Status: "revoked"})
				continue
			}
			out = append(out, apikey.BatchResult{ID: "k", Status: "error", Error: &apikey.ErrorBody{Code: string(c)}})
		}
		return out
	}
	cases := []struct {
		name    string
		call    string
		out     outcome
		flushes int
	}{
		{"RevokeMade", "revoke", outcome{}, 1},
		{"RevokeInternal", "revoke", outcome{err: internal}, 1},
		{"RevokeUnavailable", "revoke", outcome{err: apikey.ErrUnavailable}, 1},
		{"RevokeNotFound", "revoke", outcome{err: apikey.ErrNotFound}, 0},
		{"RevokeForbidden", "revoke", outcome{err: apikey.Errorf(apikey.ECodeForbidden, "no")}, 0},
		{"BatchRevokedOne", "batch", outcome{results: results(apikey.ECodeNotFound, "")}, 1},
		{"BatchOneInternal", "batch", outcome{results: results(apikey.ECodeNotFound, apikey.ECodeInternal)}, 1},
		{"BatchOneUnavailable", "batch", outcome{results: results(apikey.ECodeUnavailable)}, 1},
		{"BatchNothingRevoked", "batch", outcome{results: results(apikey.ECodeNotFound, apikey.ECodeDefaultImmutable)}, 0},
		{"BatchRefusedWhole", "batch", outcome{err: apikey.Invalid("ids", "bad")}, 0},
		{"RotateMade", "rotate", outcome{}, 1},
		{"RotateInternal", "rotate", outcome{err: internal}, 1},
		{"RotatePreconditionFailed", "rotate", outcome{err: apikey.ErrPrecondition}, 0},
		{"AllowListEditInternal", "allow-list", outcome{err: internal}, 1},
		{"AllowListEditConflict", "allow-list", outcome{err: apikey.ErrConflict}, 0},
		{"RenameInternal", "rename", outcome{err: internal}, 0},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := stub{c.out}
			gw.take()
			var err error
			switch c.call {
			case "revoke":
				_, err = f.Revoker(svc).Revoke(ctx, caller, "k")
			case "batch":
				_, err = f.Revoker(svc).BatchRevoke(ctx, caller, []string{"k"})
			case "rotate":
				_, err = f.Editor(svc).Rotate(ctx, caller, "k", apikey.RotateInput{}, nil)
			case "allow-list":
				_, err = f.Editor(svc).Update(ctx, caller, "k", apikey.PatchInput{AllowList: &apikey.AllowList{}}, nil)
			case "rename":
				name := "x"
				_, err = f.Editor(svc).Update(ctx, caller, "k", apikey.PatchInput{Name: &name}, nil)
			}
			if err != c.out.err {
				t.Errorf("err = %v, want the service's own %v", err, c.out.err)
			}
			if n := len(gw.take()); n != c.flushes {
				t.Errorf("flushes = %d, want %d", n, c.flushes)
			}
		})
	}
}
