// Command bootstrap creates a tenant's default key (keys:admin) and prints its
// token once. It refuses a tenant that already has one.
//
// It reads the same settings as the functions (KEYS_TABLE, KMS_KEY_ID,
// TOKEN_PREFIX, ...) from flags or the environment, and the AWS endpoints from
// the SDK's own variables, so it works against the local stack
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS) and, with credentials and
// the stack's outputs (KeysTableName, KmsKeyArn), against a deployed stack:
//
//	go run ./scripts/bootstrap -tenant acme -table <KeysTableName> -kms-key <KmsKeyArn>
//
// The first bootstrap of a table also creates the pepper (KMS GenerateDataKey).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "tenant ID (^[a-z0-9][a-z0-9-]{1,62}$)")
	table := fs.String("table", "", "keys table name (default $KEYS_TABLE; the stack output KeysTableName)")
	kmsKey := fs.String("kms-key", "", "KMS key ID, ARN or alias (default $KMS_KEY_ID; the stack output KmsKeyArn)")
	tokenFile := fs.String("token-file", "", "also write the token to this file (mode 0600)")
	quiet := fs.Bool("quiet", false, "print only the token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" {
		fs.Usage()
		return fmt.Errorf("-tenant is required")
	}
	for name, v := range map[string]string{"KEYS_TABLE": *table, "KMS_KEY_ID": *kmsKey} {
		if v != "" {
			if err := os.Setenv(name, v); err != nil {
				return err
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	env, err := awsenv.Load(ctx)
	if err != nil {
		return err
	}
	if _, err := env.Hasher.EnsureCurrent(ctx); err != nil {
		return fmt.Errorf("pepper: %w", err)
	}
	iss, err := env.Service.Bootstrap(ctx, *tenant, "system:bootstrap")
	if err != nil {
		if apikey.ErrorCode(err) == apikey.ECodeTenantAlreadyExists {
			return fmt.Errorf("tenant %q already has a default key; rotate it with POST /v1/keys/{id}/rotate", *tenant)
		}
		return err
	}
	if *tokenFile != "" {
		if err := os.WriteFile(*tokenFile, []byte(iss.Token+"\n"), 0o600); err != nil {
			return err
		}
	}
	if *quiet {
		_, err = fmt.Fprintln(stdout, iss.Token)
		return err
	}
	_, err = fmt.Fprintf(stdout, "Tenant %s bootstrapped.\nDefault key: %s (keys:admin)\nToken, shown once — store it now:\n\n  %s\n\nUse it as: Authorization: Bearer <token>\n", *tenant, iss.ID, iss.Token)
	return err
}
