package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/pkg/client"
)

func (a *app) tenantsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenants",
		Short: "Create, list, show, suspend and resume tenants (a platform key with tenants:admin)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for \"keyward tenants\"", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(a.tenantsCreateCommand(), a.tenantsListCommand(),
		a.tenantCommand("get", "Show a tenant", func(c *client.Client, cmd *cobra.Command, id string) (*client.Tenant, error) {
			return c.GetTenant(cmd.Context(), id)
		}),
		a.tenantCommand("suspend", "Suspend a tenant: its keys are refused within seconds", func(c *client.Client, cmd *cobra.Command, id string) (*client.Tenant, error) {
			return c.SuspendTenant(cmd.Context(), id)
		}),
		a.tenantCommand("resume", "Resume a suspended tenant", func(c *client.Client, cmd *cobra.Command, id string) (*client.Tenant, error) {
			return c.ResumeTenant(cmd.Context(), id)
		}))
	return cmd
}

// tenantsCreateCommand is "keyward tenants create".
func (a *app) tenantsCreateCommand() *cobra.Command {
	var (
		name string
		sf   secretFlags
	)
	create := &cobra.Command{
		Use:   "create TENANT_ID --name NAME",
		Short: "Create a tenant and show its default key's token once",
		Args:  exactArgs(1, "one TENANT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkSecretDestination(sf); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			t, err := c.CreateTenant(cmd.Context(), args[0], name)
			if err != nil {
				return failed(err)
			}
			if a.output == "json" && sf.file == "" {
				fmt.Fprintln(a.io.Stderr, secretWarning)
				return printJSON(a.io.Stdout, t)
			}
			if err := a.printTenant(&t.Tenant); err != nil {
				return err
			}
			return a.printIssued(t.DefaultKey, sf)
		},
	}
	create.Flags().StringVar(&name, "name", "", "the tenant's display name (required)")
	_ = create.MarkFlagRequired("name")
	addSecretFlags(create, &sf)
	return create
}

// tenantsListCommand is "keyward tenants list".
func (a *app) tenantsListCommand() *cobra.Command {
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List tenants, newest first",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			tenants := []client.Tenant{}
			for t, err := range c.Tenants(cmd.Context(), min(max(limit, 1), 100)) {
				if err != nil {
					return failed(err)
				}
				if tenants = append(tenants, t); limit > 0 && len(tenants) >= limit {
					break
				}
			}
			if a.output == "json" {
				return printJSON(a.io.Stdout, tenants)
			}
			tb := newTable(a.io.Stdout, "ID", "NAME", "STATUS", "OPERATOR", "CREATED")
			for _, t := range tenants {
				tb.row(t.ID, t.Name, t.Status, boolWord(t.IsOperator), t.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"))
			}
			return tb.flush()
		},
	}
	list.Flags().IntVar(&limit, "limit", 50, "list at most this many tenants (0: all)")
	return list
}

// tenantCommand is a "keyward tenants" command acting on one tenant by ID.
func (a *app) tenantCommand(use, short string, do func(*client.Client, *cobra.Command, string) (*client.Tenant, error)) *cobra.Command {
	return &cobra.Command{
		Use: use + " TENANT_ID", Short: short, Args: exactArgs(1, "one TENANT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			t, err := do(c, cmd, args[0])
			if err != nil {
				return failed(err)
			}
			return a.printTenant(t)
		},
	}
}

func (a *app) printTenant(t *client.Tenant) error {
	if a.output == "json" {
		return printJSON(a.io.Stdout, t)
	}
	tb := newTable(a.io.Stdout)
	tb.row("Tenant:", t.ID)
	tb.row("Name:", t.Name)
	tb.row("Status:", t.Status)
	tb.row("Operator:", boolWord(t.IsOperator))
	tb.row("Default key:", t.DefaultKeyID)
	tb.row("Suspended:", timeOr(t.SuspendedAt, "-"))
	return tb.flush()
}

func boolWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
