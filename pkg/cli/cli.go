// Package cli is the keyward command line: login, whoami, keys
// create|list|get|edit|rotate|revoke|batch-revoke, audit, verify and tenants
// create|list|get|suspend|resume, over
// the Go client (package client), built with cobra. The keyward binary
// (pkg/cmd/keyward) only calls Run.
//
// Exit codes: 0 success; 1 failure (no answer, a 5xx, a local error);
// 2 usage error (unknown command or flag, missing argument, nothing to
// authenticate with); 3 refused by the API (a 4xx: bad input, no such key,
// not allowed); 4 verify's token is not valid.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/pkg/client"
)

// Exit codes of Run.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitUsage    = 2
	ExitRefused  = 3
	ExitNotValid = 4
)

// IO is what a run reads and writes. StdoutTTY and StdinTTY say whether those
// are terminals: a secret is printed to a terminal only when asked.
type IO struct {
	Stdin     io.Reader
	Stdout    io.Writer
	Stderr    io.Writer
	StdoutTTY bool
	StdinTTY  bool
	// Getenv reads the environment (KEYWARD_URL, KEYWARD_TOKEN,
	// KEYWARD_CONFIG); os.Getenv when nil.
	Getenv func(string) string
	// HTTPClient is used for every call (http.DefaultClient's settings when nil).
	HTTPClient *http.Client
}

// SystemIO is the process's own standard streams and environment.
func SystemIO() IO {
	return IO{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		StdoutTTY: isTerminal(os.Stdout), StdinTTY: isTerminal(os.Stdin), Getenv: os.Getenv,
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Run runs the command line args (without the program name) and returns the
// exit code.
func Run(ctx context.Context, args []string, stdio IO) int {
	if stdio.Getenv == nil {
		stdio.Getenv = os.Getenv
	}
	app := &app{io: stdio}
	root := app.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdio.Stdin)
	root.SetOut(stdio.Stdout)
	root.SetErr(stdio.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stdio.Stderr, "keyward:", message(err))
	return exitCode(err)
}

// exitError carries the exit code of an error a command returned.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a usage error (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// failed classifies an error of a command's work: a 4xx answer is a refusal
// (3), anything else a failure (1).
func failed(err error) error {
	var ee *exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	var ae *client.Error
	if errors.As(err, &ae) && ae.Refused() {
		return &exitError{code: ExitRefused, err: err}
	}
	return &exitError{code: ExitFailure, err: err}
}

// exitCode is the code for err: what the command said, or usage for errors
// cobra raised before any command ran (unknown command, bad flag, arguments).
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitUsage
}

// message is what the user reads: the API's message and code for a refusal.
func message(err error) string {
	var ae *client.Error
	if errors.As(err, &ae) {
		msg := ae.Message
		if ae.Field != "" {
			msg += " [field " + ae.Field + "]"
		}
		return fmt.Sprintf("%s (%d %s)", msg, ae.StatusCode, ae.Code)
	}
	return err.Error()
}

// app holds a run's state shared by its commands.
type app struct {
	io      IO
	output  string
	profile string
	tenant  string // Keyward-Tenant
	actor   string // Keyward-Actor
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "keyward",
		Short: "Manage keyward API keys from the command line",
		Long: "keyward manages API keys of a keyward service: create, list, edit, rotate and revoke keys,\n" +
			"read the audit trail and verify tokens. Start with `keyward login`.\n\n" +
			"Exit codes: 0 ok, 1 failure, 2 usage error, 3 refused by the API (4xx), 4 token not valid (verify).",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	root.PersistentFlags().StringVar(&a.profile, "profile", "default", "profile to use from the config file")
	root.PersistentFlags().StringVar(&a.tenant, "tenant", "", "act inside this tenant (Keyward-Tenant; a platform key with tenants:act)")
	root.PersistentFlags().StringVar(&a.actor, "actor", "", "the person the call is made for (Keyward-Actor; a key with actors:assert)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if a.output != "table" && a.output != "json" {
			return usageErrorf("--output must be table or json, not %q", a.output)
		}
		return nil
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: ExitUsage, err: err} })
	root.AddCommand(a.loginCommand(), a.logoutCommand(), a.whoamiCommand(), a.keysCommand(), a.auditCommand(), a.verifyCommand(), a.tenantsCommand(), a.policyCommand())
	return root
}

// client returns a client from the environment or the profile.
func (a *app) client() (*client.Client, error) {
	url, token, err := a.credentials()
	if err != nil {
		return nil, err
	}
	c, err := client.New(url, token, a.clientOptions()...)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return c, nil
}

// version is the module version the binary was built from (go install
// …@v1.2.3), or "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// exactArgs is cobra.ExactArgs as a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("expected %s", what)
		}
		return nil
	}
}
