package cli

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/pkg/client"
)

func (a *app) auditCommand() *cobra.Command {
	var (
		p        client.AuditParams
		from, to string
		limit    int
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit trail, newest first",
		Example: "  keyward audit --key key_01JD… \n" +
			"  keyward audit --action key.revoked --from 24h -o json",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			now := time.Now()
			if p.From, err = parseSince("--from", from, now); err != nil {
				return err
			}
			if p.To, err = parseSince("--to", to, now); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if p.Limit == 0 && limit > 0 {
				p.Limit = min(limit, 100) // no page larger than what is shown
			}
			records := []client.AuditRecord{}
			for r, err := range c.Audit(cmd.Context(), p) {
				if err != nil {
					return failed(err)
				}
				if records = append(records, r); limit > 0 && len(records) >= limit {
					break
				}
			}
			if limit > 0 && len(records) == limit {
				fmt.Fprintf(a.io.Stderr, "showing the newest %d records; --limit 0 shows them all\n", limit)
			}
			if a.output == "json" {
				return printJSON(a.io.Stdout, records)
			}
			t := newTable(a.io.Stdout, "AT", "ACTION", "KEY", "ACTOR", "SOURCE IP", "CHANGED")
			for _, r := range records {
				ip := "-"
				if r.SourceIP != nil {
					ip = *r.SourceIP
				}
				fields := slices.Sorted(func(yield func(string) bool) {
					for f := range r.Changes {
						if !yield(f) {
							return
						}
					}
				})
				subject := r.KeyID
				if subject == "" && r.SubjectTenantID != nil {
					subject = "tenant " + *r.SubjectTenantID // a tenant.* record
				}
				t.row(r.At.UTC().Format(time.RFC3339), r.Action, orDash(subject), r.Actor, ip, orDash(strings.Join(fields, ",")))
			}
			return t.flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.KeyID, "key", "", "only records of this key")
	f.StringVar(&p.SubjectTenantID, "subject-tenant", "", "only tenant.* records about this tenant (platform keys, in the operator tenant's trail)")
	f.StringVar(&p.Action, "action", "", "only this action: key.created, key.updated, key.rotated, key.revoked, key.purged, key.leaked, policy.updated, tenant.created, tenant.suspended, tenant.resumed")
	f.StringVar(&p.Actor, "actor", "", "only records by this actor (a key ID or system)")
	f.StringVar(&from, "from", "", "records at or after: an RFC 3339 time or a duration ago (24h)")
	f.StringVar(&to, "to", "", "records before: an RFC 3339 time or a duration ago")
	f.IntVar(&limit, "limit", 50, "show at most this many records (0: all)")
	f.IntVar(&p.Limit, "page-size", 0, "records per request, 1-100 (default the API's)")
	_ = cmd.RegisterFlagCompletionFunc("action", cobra.FixedCompletions(
		[]string{"key.created", "key.updated", "key.rotated", "key.revoked", "key.purged"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("key", a.keyIDCompletion)
	return cmd
}

// parseSince reads a time flag: "" (open), an RFC 3339 time, or a duration
// before now.
func parseSince(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usageErrorf("%s %q: want an RFC 3339 time or a duration ago such as 24h", flag, s)
}
