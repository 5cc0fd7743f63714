package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/pkg/client"
)

func (a *app) loginCommand() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "login --url URL",
		Short: "Save an API URL and token as a profile (the token is read from stdin)",
		Long: "login reads a token from stdin (on a terminal it prompts and does not echo it), checks it with GET /v1/whoami\n" +
			"and saves the URL and token as the profile (--profile, default \"default\") in a file only\n" +
			"you can read (mode 0600) under your config directory. KEYWARD_URL and KEYWARD_TOKEN, when\n" +
			"set, override the profile's values.",
		Example: "  keyward login --url http://127.0.0.1:3000 < .local/admin-token",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				url = a.io.Getenv("KEYWARD_URL")
			}
			if url == "" {
				return usageErrorf("--url is required (the API's base URL, e.g. http://127.0.0.1:3000)")
			}
			token, err := a.readSecret("Paste a keyward token: ")
			if err != nil {
				return err
			}
			c, err := client.New(url, token, a.clientOptions()...)
			if err != nil {
				return usageErrorf("%v", err)
			}
			who, err := c.Whoami(cmd.Context())
			if err != nil {
				return failed(err)
			}
			cfg, path, err := a.loadConfig()
			if err != nil {
				return failed(err)
			}
			cfg.Profiles[a.profile] = Profile{URL: c.BaseURL(), Token: token}
			if err := saveConfig(cfg, path); err != nil {
				return failed(err)
			}
			fmt.Fprintf(a.io.Stderr, "Logged in to %s as %s (%s) of tenant %s; profile %q saved in %s\n",
				c.BaseURL(), who.KeyID, oneLine(who.Name), who.TenantID, a.profile, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "the API's base URL (default $KEYWARD_URL)")
	return cmd
}

func (a *app) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Remove the profile's saved URL and token",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			cfg, path, err := a.loadConfig()
			if err != nil {
				return failed(err)
			}
			if _, ok := cfg.Profiles[a.profile]; !ok {
				return usageErrorf("no profile %q", a.profile)
			}
			delete(cfg.Profiles, a.profile)
			if err := saveConfig(cfg, path); err != nil {
				return failed(err)
			}
			fmt.Fprintf(a.io.Stderr, "Profile %q removed from %s\n", a.profile, path)
			return nil
		},
	}
}

func (a *app) clientOptions() []client.Option {
	opts := []client.Option{client.WithUserAgent("keyward-cli"), client.WithTenant(a.tenant), client.WithActor(a.actor)}
	if a.io.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(a.io.HTTPClient))
	}
	return opts
}

// readSecret reads one line from stdin, prompting on stderr when stdin is a
// terminal; there the terminal's echo is off while the line is typed.
func (a *app) readSecret(prompt string) (string, error) {
	read := func() (string, error) { return readLine(a.io.Stdin) }
	if !a.io.StdinTTY {
		return read()
	}
	sw := stdinEcho(a.io.Stdin)
	if sw == nil {
		fmt.Fprint(a.io.Stderr, "warning: the token will be shown as you type it\n"+prompt)
		return read()
	}
	fmt.Fprint(a.io.Stderr, prompt)
	return readHidden(sw, a.io.Stderr, read)
}

func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", failed(err)
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return "", usageErrorf("no token on stdin")
	}
	return line, nil
}

func (a *app) whoamiCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the key the CLI calls with",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			w, err := c.Whoami(cmd.Context())
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				return printJSON(a.io.Stdout, w)
			}
			t := newTable(a.io.Stdout)
			t.row("Key:", w.KeyID)
			t.row("Name:", w.Name)
			t.row("Tenant:", w.TenantID)
			t.row("Type:", w.Type)
			t.row("Scopes:", strings.Join(w.Scopes, ", "))
			if w.ActingTenantID != "" {
				t.row("Acting in:", w.ActingTenantID)
			}
			if w.Actor != "" {
				t.row("Actor:", w.Actor)
			}
			t.row("API:", c.BaseURL())
			return t.flush()
		},
	}
}

func (a *app) verifyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "verify [TOKEN]",
		Short: "Check a token with POST /v1/verify (exit 4 when it is not valid)",
		Long: "verify asks keyward whether a token (or an Authorization header value) is valid. Without\n" +
			"TOKEN it reads the token from stdin, which keeps it out of your shell history. The calling\n" +
			"key needs keys:verify. Exit code 0 when VALID, 4 otherwise.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("expected at most one TOKEN")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			token := ""
			if len(args) == 1 && args[0] != "-" {
				token = args[0]
			} else if token, err = a.readSecret("Token to verify: "); err != nil {
				return err
			}
			v, err := c.Verify(cmd.Context(), token)
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				err = printJSON(a.io.Stdout, v)
			} else {
				err = verificationTable(a.io.Stdout, v)
			}
			if err == nil && !v.Valid {
				return &exitError{code: ExitNotValid, err: fmt.Errorf("the token is not valid: %s", v.Code)}
			}
			return err
		},
	}
}

func verificationTable(w io.Writer, v *client.Verification) error {
	t := newTable(w)
	t.row("Code:", v.Code)
	if v.KeyID != "" {
		t.row("Key:", v.KeyID)
	}
	if v.Valid {
		t.row("Name:", v.Name)
		t.row("Tenant:", v.TenantID)
		t.row("Type:", v.Type)
		t.row("Scopes:", strings.Join(v.Scopes, ", "))
		t.row("Expires:", timeOr(v.ExpiresAt, "never"))
	}
	return t.flush()
}
