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
// With neither -table nor KEYS_TABLE, it bootstraps the local stack that
// `make run` is running, reading its endpoints and settings from
// .local/stack.json (or -dir's).
//
// The first bootstrap of a table also creates the pepper (KMS GenerateDataKey).
//
// With -add-pepper-version (and no -tenant) it adds the next pepper version
// instead (`make pepper-rotate`): secrets issued or rotated from then on are
// hashed with it once the functions' containers restart, and every hash made
// with an older version keeps verifying.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/workbench/localaws"
	"github.com/keyward/keyward/pkg/workbench/localstate"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
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
	dir := fs.String("dir", "", "data directory of the local stack, used when no table is given (default <repo>/.local)")
	addPepper := fs.Bool("add-pepper-version", false, "add the next pepper version instead of bootstrapping a tenant")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*tenant == "") == !*addPepper {
		fs.Usage()
		return fmt.Errorf("give -tenant, or -add-pepper-version alone")
	}
	for name, v := range map[string]string{"KEYS_TABLE": *table, "KMS_KEY_ID": *kmsKey} {
		if v != "" {
			if err := os.Setenv(name, v); err != nil {
				return err
			}
		}
	}
	if os.Getenv("KEYS_TABLE") == "" {
		if err := useLocalStack(*dir); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	env, err := load(ctx)
	if err != nil {
		return err
	}
	if *addPepper {
		v, err := env.Hasher.AddVersion(ctx)
		if err != nil {
			return fmt.Errorf("add pepper version: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "Pepper version %d added. New and rotated secrets use it once the functions restart; older hashes keep verifying.\n", v)
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
		if err := writeTokenFile(*tokenFile, iss.Token+"\n"); err != nil {
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

// keys is what the bootstrap uses of the key service.
type keys struct {
	Hasher  *kmspepper.Hasher
	Service *apikey.Service
}

// load wires the key service as the functions do, but with the SDK's whole
// configuration chain (profiles, SSO), since it runs on a workstation.
func load(ctx context.Context) (*keys, error) {
	s, err := awsenv.ReadSettings(os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), s.Table)
	hasher := kmspepper.New(kms.NewFromConfig(cfg), store, s.KMSKeyID)
	return &keys{Hasher: hasher, Service: apikey.NewService(store, hasher, s.Service)}, nil
}

// writeTokenFile writes data to path with mode 0600 whatever was there
// before (os.WriteFile keeps an existing file's mode): a new file in the same
// directory, made 0600 before the token is written, renamed over path.
func writeTokenFile(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := io.WriteString(tmp, data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// useLocalStack points this process at the running local stack: its
// endpoints, dummy credentials and the functions' settings.
func useLocalStack(dir string) error {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		p, err := samtemplate.Find(wd)
		if err != nil {
			return err
		}
		dir = filepath.Join(filepath.Dir(p), ".local")
	}
	st, err := localstate.Read(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = errors.New("no local stack is running")
		}
		return fmt.Errorf("%w: start it with `make run`, or bootstrap a deployed stack with -table and -kms-key "+
			"(or KEYS_TABLE and KMS_KEY_ID: its outputs KeysTableName and KmsKeyArn) and AWS credentials", err)
	}
	vars := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB":   st.DynamoDBURL,
		"AWS_ENDPOINT_URL_KMS":        st.KMSURL,
		"AWS_REGION":                  localaws.Region,
		"AWS_ACCESS_KEY_ID":           "local",
		"AWS_SECRET_ACCESS_KEY":       "local",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
	for k, v := range st.KeysEnv {
		vars[k] = v
	}
	for k, v := range vars {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}
