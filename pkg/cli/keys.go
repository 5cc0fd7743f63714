package cli

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/pkg/client"
)

func (a *app) keysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list, show, edit, rotate and revoke keys",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for \"keyward keys\"", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(a.keysCreate(), a.keysList(), a.keysGet(), a.keysEdit(), a.keysRotate(), a.keysRevoke(), a.keysBatchRevoke())
	return cmd
}

// keyIDCompletion completes a key ID argument from the tenant's active keys.
func (a *app) keyIDCompletion(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := a.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for k, err := range c.Keys(cmd.Context(), client.ListKeysParams{Status: "active", Limit: 100}) {
		if err != nil || len(out) >= 200 {
			break
		}
		if strings.HasPrefix(k.ID, prefix) {
			out = append(out, k.ID+"\t"+oneLine(k.Name))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) keysCreate() *cobra.Command {
	var (
		in      client.CreateKeyInput
		ips     []string
		origins []string
		expires string
		sf      secretFlags
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME --scope SCOPE...",
		Short: "Create a key and show its token once",
		Example: "  keyward keys create --name \"CRM sync\" --scope recordings:read --ip 203.0.113.0/24 --secret-file crm.token\n" +
			"  keyward keys create --name ci --scope keys:read --expires 720h -o json > ci.json",
		Args: exactArgs(0, "no arguments (use --name)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(ips)+len(origins) > 0 {
				in.AllowList = &client.AllowList{IPs: nonNil(ips), Origins: nonNil(origins)}
			}
			exp, err := parseExpiry(expires, time.Now())
			if err != nil {
				return err
			}
			in.ExpiresAt = exp
			if err := a.checkSecretDestination(sf); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			k, err := c.CreateKey(cmd.Context(), in)
			if err != nil {
				return failed(err)
			}
			return a.printIssued(k, sf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Name, "name", "", "name, unique in the tenant (required)")
	f.StringVar(&in.Description, "description", "", "description")
	f.StringVar(&in.Type, "type", "", "key type, e.g. client or server")
	f.StringSliceVar(&in.Scopes, "scope", nil, "scope to grant (repeat or comma-separate; required)")
	f.StringSliceVar(&ips, "ip", nil, "allow only this CIDR or address (repeatable)")
	f.StringSliceVar(&origins, "origin", nil, "allow only this origin, https://host[:port] or *.suffix (repeatable)")
	f.StringToStringVar(&in.Metadata, "meta", nil, "metadata entry key=value (repeatable)")
	f.StringVar(&expires, "expires", "", "expiry: an RFC 3339 time or a duration from now (720h, 30d)")
	addSecretFlags(cmd, &sf)
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("scope")
	return cmd
}

func addSecretFlags(cmd *cobra.Command, sf *secretFlags) {
	cmd.Flags().BoolVar(&sf.show, "show-secret", false, "print the token even when stdout is a terminal")
	cmd.Flags().StringVar(&sf.file, "secret-file", "", "save the token to this new file (mode 0600) instead of printing it")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// parseExpiry reads --expires: "" (none), an RFC 3339 time, or a duration
// from now (Go's 720h, or whole days as 30d).
func parseExpiry(s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return &t, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return nil, usageErrorf("--expires %q: want an RFC 3339 time or a duration such as 720h or 30d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else if v, err := time.ParseDuration(s); err == nil && v > 0 {
		d = v
	} else {
		return nil, usageErrorf("--expires %q: want an RFC 3339 time or a duration such as 720h or 30d", s)
	}
	t := now.Add(d).UTC().Truncate(time.Second)
	return &t, nil
}

func (a *app) keysList() *cobra.Command {
	var (
		p     client.ListKeysParams
		limit int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List or search the tenant's keys",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if p.Limit == 0 && limit > 0 {
				p.Limit = min(limit, 100) // no page larger than what is shown
			}
			keys := []client.Key{}
			for k, err := range c.Keys(cmd.Context(), p) {
				if err != nil {
					return failed(err)
				}
				if keys = append(keys, k); limit > 0 && len(keys) >= limit {
					break
				}
			}
			if limit > 0 && len(keys) == limit {
				fmt.Fprintf(a.io.Stderr, "showing the first %d keys; --limit 0 lists them all\n", limit)
			}
			if a.output == "json" {
				return printJSON(a.io.Stdout, keys)
			}
			return keyRows(a.io.Stdout, keys)
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Status, "status", "", "only keys in this state: active, revoked or expired")
	f.StringVar(&p.Type, "type", "", "only keys of this type")
	f.StringVarP(&p.Query, "query", "q", "", "only keys whose name starts with this (case-insensitive)")
	f.IntVar(&limit, "limit", 50, "list at most this many keys (0: all)")
	f.IntVar(&p.Limit, "page-size", 0, "keys per request, 1-100 (default the API's)")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]string{"active", "revoked", "expired"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) keysGet() *cobra.Command {
	return &cobra.Command{
		Use:               "get KEY_ID",
		Short:             "Show a key",
		Args:              exactArgs(1, "one KEY_ID"),
		ValidArgsFunction: a.keyIDCompletion,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			k, err := c.GetKey(cmd.Context(), args[0])
			if err != nil {
				return failed(err)
			}
			return a.printKey(k)
		},
	}
}

func (a *app) printKey(k *client.Key) error {
	if a.output == "json" {
		return printJSON(a.io.Stdout, k)
	}
	return keyDetail(a.io.Stdout, k)
}

func (a *app) keysEdit() *cobra.Command {
	var (
		name, description, expires string
		meta                       map[string]string
		ips, origins               []string
		clearAllow                 bool
		ifMatch                    int64
	)
	cmd := &cobra.Command{
		Use:   "edit KEY_ID",
		Short: "Change a key's name, description, metadata, allow-list or expiry",
		Long: "edit changes only what its flags name. --meta replaces all metadata; --ip and --origin\n" +
			"together replace the whole allow-list (give both to keep both kinds). Expiry can only move\n" +
			"earlier. Type and scopes never change: create a new key instead.",
		Args:              exactArgs(1, "one KEY_ID"),
		ValidArgsFunction: a.keyIDCompletion,
		RunE: func(cmd *cobra.Command, args []string) error {
			var in client.EditKeyInput
			f := cmd.Flags()
			if f.Changed("name") {
				in.Name = &name
			}
			if f.Changed("description") {
				in.Description = &description
			}
			if f.Changed("meta") {
				in.Metadata = &meta
			}
			if clearAllow || f.Changed("ip") || f.Changed("origin") {
				in.AllowList = &client.AllowList{IPs: nonNil(ips), Origins: nonNil(origins)}
			}
			exp, err := parseExpiry(expires, time.Now())
			if err != nil {
				return err
			}
			in.ExpiresAt = exp
			if in == (client.EditKeyInput{}) {
				return usageErrorf("nothing to change: give --name, --description, --meta, --ip, --origin, --clear-allow-list or --expires")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			k, err := c.EditKey(cmd.Context(), args[0], in, ifMatch)
			if err != nil {
				return failed(err)
			}
			return a.printKey(k)
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "new name")
	f.StringVar(&description, "description", "", "new description")
	f.StringToStringVar(&meta, "meta", nil, "metadata entry key=value (repeatable; replaces all metadata)")
	f.StringSliceVar(&ips, "ip", nil, "allowed CIDR (repeatable; replaces the allow-list)")
	f.StringSliceVar(&origins, "origin", nil, "allowed origin (repeatable; replaces the allow-list)")
	f.BoolVar(&clearAllow, "clear-allow-list", false, "remove every allow-list entry")
	f.StringVar(&expires, "expires", "", "new, earlier expiry: an RFC 3339 time or a duration from now")
	f.Int64Var(&ifMatch, "if-match", 0, "refuse (412) if the key's version is no longer this")
	return cmd
}

func (a *app) keysRotate() *cobra.Command {
	var (
		grace   time.Duration
		ifMatch int64
		sf      secretFlags
	)
	cmd := &cobra.Command{
		Use:               "rotate KEY_ID",
		Short:             "Issue a new secret and show the new token once",
		Long:              "rotate issues a new secret; the previous one keeps working for --grace (default 0: refused within seconds).",
		Args:              exactArgs(1, "one KEY_ID"),
		ValidArgsFunction: a.keyIDCompletion,
		RunE: func(cmd *cobra.Command, args []string) error {
			if grace < 0 || grace > 7*24*time.Hour {
				return usageErrorf("--grace must be between 0 and 168h")
			}
			if err := a.checkSecretDestination(sf); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			k, err := c.RotateKey(cmd.Context(), args[0], grace, ifMatch)
			if err != nil {
				return failed(err)
			}
			return a.printIssued(k, sf)
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", 0, "how long the previous secret keeps working (up to 168h)")
	cmd.Flags().Int64Var(&ifMatch, "if-match", 0, "refuse (412) if the key's version is no longer this")
	addSecretFlags(cmd, &sf)
	return cmd
}

func (a *app) keysRevoke() *cobra.Command {
	return &cobra.Command{
		Use:               "revoke KEY_ID",
		Short:             "Revoke a key (refused everywhere within seconds)",
		Args:              exactArgs(1, "one KEY_ID"),
		ValidArgsFunction: a.keyIDCompletion,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			k, err := c.RevokeKey(cmd.Context(), args[0])
			if err != nil {
				return failed(err)
			}
			return a.printKey(k)
		},
	}
}

func (a *app) keysBatchRevoke() *cobra.Command {
	return &cobra.Command{
		Use:   "batch-revoke KEY_ID... | -",
		Short: "Revoke up to 100 keys at once (IDs as arguments, or one a line on stdin with -)",
		Long:  "batch-revoke reports each key's outcome; it exits 3 when any key was not revoked.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("expected KEY_ID... or - (IDs on stdin)")
			}
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
			return a.keyIDCompletion(cmd, nil, prefix)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := args
			if len(args) == 1 && args[0] == "-" {
				ids = nil
				sc := bufio.NewScanner(a.io.Stdin)
				for sc.Scan() {
					if id := strings.TrimSpace(sc.Text()); id != "" {
						ids = append(ids, id)
					}
				}
				if err := sc.Err(); err != nil {
					return failed(err)
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			results, err := c.BatchRevoke(cmd.Context(), ids)
			if err != nil {
				return failed(err)
			}
			return a.printBatch(results)
		},
	}
}

func (a *app) printBatch(results []client.BatchResult) error {
	var err error
	if a.output == "json" {
		err = printJSON(a.io.Stdout, results)
	} else {
		t := newTable(a.io.Stdout, "ID", "STATUS", "ERROR")
		for _, r := range results {
			msg := "-"
			if r.Error != nil {
				msg = r.Error.Code + ": " + r.Error.Message
			}
			t.row(r.ID, r.Status, msg)
		}
		err = t.flush()
	}
	if err != nil {
		return err
	}
	code, failedN := ExitOK, 0
	for _, r := range results {
		if r.Error != nil {
			failedN++
			if code != ExitFailure {
				code = ExitRefused
			}
			if r.Error.Code == "internal" || r.Error.Code == "unavailable" {
				code = ExitFailure
			}
		}
	}
	if failedN > 0 {
		return &exitError{code: code, err: fmt.Errorf("%d of %d keys were not revoked", failedN, len(results))}
	}
	return nil
}
