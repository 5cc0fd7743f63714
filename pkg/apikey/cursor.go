package apikey

import "context"

// SealCursor returns the opaque, tamper-evident cursor that the keys list
// issues, for other lists (the audit trail) to issue the same way: after is
// the store's continuation token, binding the tenant and filters the cursor
// is valid for. Callers keep their bindings apart from the keys list's (which
// start with a tenant ID) so one list's cursor never opens in another.
func SealCursor(ctx context.Context, h Hasher, after, binding string) (string, error) {
	return (&Service{hasher: h}).sealCursor(ctx, after, binding)
}

// OpenCursor returns the continuation token of a cursor SealCursor issued for
// binding. Errors: invalid_request naming cursor when it was not issued for
// binding or was tampered with.
func OpenCursor(ctx context.Context, h Hasher, cursor, binding string) (string, error) {
	return (&Service{hasher: h}).openCursor(ctx, cursor, binding)
}
