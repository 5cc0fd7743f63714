package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyward/keyward/pkg/client"
)

// printJSON writes v as indented JSON: the form for scripts.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns: the form for people.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		cols[i] = oneLine(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// oneLine keeps a value on one table line: control characters (a key's
// description may hold line feeds) are shown escaped, never interpreted.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

func keyRows(w io.Writer, keys []client.Key) error {
	t := newTable(w, "ID", "NAME", "TYPE", "STATUS", "SCOPES", "EXPIRES", "LAST USED")
	for _, k := range keys {
		t.row(k.ID, k.Name, k.Type, k.Status, strings.Join(k.Scopes, ","), timeOr(k.ExpiresAt, "-"), timeOr(k.LastUsedAt, "-"))
	}
	return t.flush()
}

// keyDetail writes one key as FIELD VALUE lines.
func keyDetail(w io.Writer, k *client.Key) error {
	t := newTable(w)
	meta := make([]string, 0, len(k.Metadata))
	for name, v := range k.Metadata {
		meta = append(meta, name+"="+v)
	}
	revokedBy := "-"
	if k.RevokedBy != nil {
		revokedBy = *k.RevokedBy
	}
	for _, r := range [][2]string{
		{"ID", k.ID}, {"Name", k.Name}, {"Description", k.Description}, {"Tenant", k.TenantID},
		{"Type", k.Type}, {"Status", k.Status}, {"Default", fmt.Sprint(k.IsDefault)},
		{"Scopes", strings.Join(k.Scopes, ", ")},
		{"Allowed IPs", orDash(strings.Join(k.AllowList.IPs, ", "))},
		{"Allowed origins", orDash(strings.Join(k.AllowList.Origins, ", "))},
		{"Metadata", orDash(strings.Join(slices.Sorted(slices.Values(meta)), ", "))}, {"Hint", k.Hint},
		{"Created", k.CreatedAt.UTC().Format(time.RFC3339) + " by " + k.CreatedBy},
		{"Updated", k.UpdatedAt.UTC().Format(time.RFC3339) + " by " + k.UpdatedBy},
		{"Expires", timeOr(k.ExpiresAt, "never")}, {"Revoked", timeOr(k.RevokedAt, "-") + " by " + revokedBy},
		{"Rotated", timeOr(k.RotatedAt, "-")}, {"Previous secret until", timeOr(k.PreviousSecretExpiresAt, "-")},
		{"Last used", timeOr(k.LastUsedAt, "-")}, {"Version", fmt.Sprint(k.Version)},
	} {
		t.row(r[0]+":", r[1])
	}
	return t.flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// secretFlags say where the one-time token of create and rotate goes.
type secretFlags struct {
	show bool
	file string
}

// secretWarning is the one line printed beside a token.
const secretWarning = "warning: this is the only time this token is shown; store it now, it cannot be retrieved again"

// checkSecretDestination refuses, before anything is created, to print a
// token on a terminal unless asked: the token would stay on screen and in
// the scrollback.
func (a *app) checkSecretDestination(sf secretFlags) error {
	if a.io.StdoutTTY && !sf.show && sf.file == "" {
		return usageErrorf("the new token would be printed on this terminal: pass --show-secret to print it, --secret-file PATH to save it (mode 0600), or redirect stdout")
	}
	return nil
}

// printIssued shows an issued key and its token, once.
func (a *app) printIssued(k *client.IssuedKey, sf secretFlags) error {
	if sf.file != "" {
		if err := writeSecretFile(sf.file, k.Token+"\n"); err != nil {
			return &exitError{code: ExitFailure, err: fmt.Errorf("the key was issued but its token could not be saved to %s: %w", sf.file, err)}
		}
		fmt.Fprintf(a.io.Stderr, "token saved to %s (mode 0600); it is shown nowhere else and cannot be retrieved again\n", sf.file)
		if a.output == "json" {
			return printJSON(a.io.Stdout, k.Key)
		}
		return keyDetail(a.io.Stdout, &k.Key)
	}
	fmt.Fprintln(a.io.Stderr, secretWarning)
	if a.output == "json" {
		return printJSON(a.io.Stdout, k)
	}
	if err := keyDetail(a.io.Stdout, &k.Key); err != nil {
		return err
	}
	_, err := fmt.Fprintf(a.io.Stdout, "Token:  %s\n", k.Token)
	return err
}

// writeSecretFile writes s to a new file readable by its owner only; an
// existing file is not overwritten.
func writeSecretFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
