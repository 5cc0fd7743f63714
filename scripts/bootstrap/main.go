// Command bootstrap creates a tenant and its default key and prints the
// key's token once; with no tenant named, the operator tenant (OPERATOR_TENANT,
// "operator" by default), whose default key is the platform key (keys:admin,
// tenants:admin, tenants:act, actors:assert). It refuses a tenant that exists.
//
// It reads the same settings as the functions (KEYS_TABLE, KMS_KEY_ID,
// TOKEN_PREFIX, OPERATOR_TENANT, ...) from flags or the environment, and the
// AWS endpoints from the SDK's own variables, so it works against the local
// stack (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS) and, with
// credentials and the stack's outputs (KeysTableName, KmsKeyArn), against a
// deployed stack:
//
//	go run ./scripts/bootstrap -tenant acme -table <KeysTableName> -kms-key <KmsKeyArn>
//
// With neither -table nor KEYS_TABLE, it bootstraps the local stack that
// `make run` is running, reading its endpoints and settings from
// .local/stack.json (or -dir's).
//
// The first bootstrap of a table also creates the pepper (KMS GenerateDataKey).
//
// Break-glass: with -rotate-default it rotates the tenant's default key
// instead (no grace period: the lost or leaked token stops at once) and
// prints the new token once. It needs AWS credentials, never an API key; the
// audit trail records actor operator:<IAM principal ARN>, or operator:local
// against the local stack.
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
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/unicoderules"
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

// options are the command's flags.
type options struct {
	tenant, table, kmsKey, tokenFile, dir string
	quiet, addPepper, rotateDefault       bool
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.tenant, "tenant", "", "tenant ID (^[a-z0-9][a-z0-9-]{1,62}$); default the operator tenant ($OPERATOR_TENANT, operator)")
	fs.StringVar(&o.table, "table", "", "keys table name (default $KEYS_TABLE; the stack output KeysTableName)")
	fs.StringVar(&o.kmsKey, "kms-key", "", "KMS key ID, ARN or alias (default $KMS_KEY_ID; the stack output KmsKeyArn)")
	fs.StringVar(&o.tokenFile, "token-file", "", "also write the token to this file (mode 0600)")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the token")
	fs.StringVar(&o.dir, "dir", "", "data directory of the local stack, used when no table is given (default <repo>/.local)")
	fs.BoolVar(&o.addPepper, "add-pepper-version", false, "add the next pepper version instead of bootstrapping a tenant")
	fs.BoolVar(&o.rotateDefault, "rotate-default", false, "break-glass: rotate the tenant's default key and print its new token once")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.addPepper && (o.tenant != "" || o.rotateDefault) {
		fs.Usage()
		return o, fmt.Errorf("give -add-pepper-version alone")
	}
	if o.rotateDefault && o.tenant == "" {
		fs.Usage()
		return o, fmt.Errorf("-rotate-default needs -tenant")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	for name, v := range map[string]string{"KEYS_TABLE": o.table, "KMS_KEY_ID": o.kmsKey} {
		if v != "" {
			if err := os.Setenv(name, v); err != nil {
				return err
			}
		}
	}
	local := os.Getenv("KEYS_TABLE") == ""
	if local {
		if err := useLocalStack(o.dir); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	env, err := load(ctx)
	if err != nil {
		return err
	}
	if o.addPepper {
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
	if o.tenant == "" {
		o.tenant = env.Service.OperatorTenant()
	}
	var iss *apikey.Issued
	what := "bootstrapped"
	if o.rotateDefault {
		what = "default key rotated (break-glass); the previous token no longer works"
		iss, err = rotateDefault(ctx, env, o.tenant, local)
	} else {
		iss, err = env.Service.Bootstrap(ctx, o.tenant, "system:bootstrap")
		if apikey.ErrorCode(err) == apikey.ECodeTenantAlreadyExists {
			if _, rerr := env.Service.RegisterTenant(ctx, o.tenant, "system:bootstrap"); rerr == nil {
				_, err = fmt.Fprintf(stdout, "Tenant %s registered: its default key was made before tenants were kept, and is unchanged.\n", o.tenant)
				return err
			}
			return fmt.Errorf("tenant %q already has a default key; rotate it with POST /v1/keys/{id}/rotate, "+
				"or, if its token is lost, with `make bootstrap TENANT=%s ROTATE_DEFAULT=1` (break-glass)", o.tenant, o.tenant)
		}
	}
	if err != nil {
		return err
	}
	return report(stdout, o, iss, what)
}

// rotateDefault is break-glass: the audit trail records the operator's IAM
// principal (operator:local against the local stack).
func rotateDefault(ctx context.Context, env *keys, tenant string, local bool) (*apikey.Issued, error) {
	principal := "local"
	if !local {
		id, err := sts.NewFromConfig(env.AWS).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return nil, fmt.Errorf("who is rotating (sts:GetCallerIdentity): %w", err)
		}
		principal = aws.ToString(id.Arn)
	}
	iss, err := env.Service.RotateDefaultKey(ctx, tenant, "operator:"+principal)
	if apikey.ErrorCode(err) == apikey.ECodeNotFound {
		return nil, fmt.Errorf("tenant %q has no default key", tenant)
	}
	return iss, err
}

func report(stdout io.Writer, o options, iss *apikey.Issued, what string) error {
	if o.tokenFile != "" {
		if err := writeTokenFile(o.tokenFile, iss.Token+"\n"); err != nil {
			return err
		}
	}
	if o.quiet {
		_, err := fmt.Fprintln(stdout, iss.Token)
		return err
	}
	_, err := fmt.Fprintf(stdout, "Tenant %s %s.\nDefault key: %s (%s)\nToken, shown once — store it now:\n\n  %s\n\nUse it as: Authorization: Bearer <token>\n",
		o.tenant, what, iss.ID, strings.Join(iss.Scopes, " "), iss.Token)
	return err
}

// keys is what the bootstrap uses of the key service, and the AWS
// configuration it was made with.
type keys struct {
	AWS     aws.Config
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
	return &keys{AWS: cfg, Hasher: hasher, Service: apikey.NewService(store, hasher, unicoderules.Rules{}, s.Service)}, nil
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
