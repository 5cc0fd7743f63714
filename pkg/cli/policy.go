package cli

import (
	"encoding/json"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/pkg/client"
)

func (a *app) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show or replace the tenant's key policy (keys:admin)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for \"keyward policy\"", args[0])
			}
			return cmd.Help()
		},
	}
	get := &cobra.Command{
		Use: "get", Short: "Show the tenant's key policy", Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			p, err := c.GetPolicy(cmd.Context())
			if err != nil {
				return failed(err)
			}
			return printJSON(a.io.Stdout, p) // a policy is a document: JSON in either output
		},
	}
	var ifMatch int64
	set := &cobra.Command{
		Use:     "set FILE|-",
		Short:   "Replace the tenant's key policy with a JSON document (fields left out take their defaults)",
		Example: `  echo '{"maxLifetimeDays":90,"requireAllowList":true}' | keyward policy set -`,
		Args:    exactArgs(1, "one FILE, or - for stdin"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = a.io.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return usageErrorf("%v", err)
				}
				defer f.Close()
				r = f
			}
			var p client.Policy
			dec := json.NewDecoder(r)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				return usageErrorf("the policy is not a JSON policy document: %v", err)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			out, err := c.PutPolicy(cmd.Context(), p, ifMatch)
			if err != nil {
				return failed(err)
			}
			return printJSON(a.io.Stdout, out)
		},
	}
	set.Flags().Int64Var(&ifMatch, "if-match", 0, "refuse (412) if the policy's version is no longer this")
	cmd.AddCommand(get, set)
	return cmd
}
