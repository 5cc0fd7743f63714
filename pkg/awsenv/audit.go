package awsenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/auditstore"
)

// Defaults and bounds of the audit settings (the template's AuditRetentionDays).
const (
	DefaultAuditRetentionDays = 400
	MaxAuditRetentionDays     = 3650
)

// AuditSettings are the audit functions' own settings.
type AuditSettings struct {
	// Table is the audit table (AUDIT_TABLE, required).
	Table string
	// Retention is how long audit records are kept (AUDIT_RETENTION_DAYS,
	// 1-3650 days, default 400). Only the stream function, which writes the
	// records, reads it; it is zero for the query function.
	Retention time.Duration
}

// ReadAuditTable reads AUDIT_TABLE through getenv: all the audit (query)
// function needs.
func ReadAuditTable(getenv func(string) string) (AuditSettings, error) {
	s := AuditSettings{Table: strings.TrimSpace(getenv("AUDIT_TABLE"))}
	if s.Table == "" {
		return AuditSettings{}, fmt.Errorf("AUDIT_TABLE is not set")
	}
	return s, nil
}

// ReadAuditSettings reads AUDIT_TABLE and AUDIT_RETENTION_DAYS through
// getenv: what the auditstream function needs. A missing or malformed
// setting is an error naming the variable.
func ReadAuditSettings(getenv func(string) string) (AuditSettings, error) {
	s, err := ReadAuditTable(getenv)
	if err != nil {
		return AuditSettings{}, err
	}
	days := DefaultAuditRetentionDays
	if v := strings.TrimSpace(getenv("AUDIT_RETENTION_DAYS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxAuditRetentionDays {
			return AuditSettings{}, fmt.Errorf("AUDIT_RETENTION_DAYS %q must be a whole number of days from 1 to %d", v, MaxAuditRetentionDays)
		}
		days = n
	}
	s.Retention = time.Duration(days) * 24 * time.Hour
	return s, nil
}

// AuditEnv is an audit function's Env: the common one plus the audit table.
type AuditEnv struct {
	*Env
	Audit      AuditSettings
	AuditStore *auditstore.Store
}

// LoadAudit is Load for the audit function (GET /v1/audit), which queries
// the audit table. Like Load it makes no AWS calls.
func LoadAudit(ctx context.Context) (*AuditEnv, error) {
	as, err := ReadAuditTable(os.Getenv)
	if err != nil {
		return nil, err
	}
	return loadAudit(ctx, as)
}

// LoadAuditStream is Load for the auditstream function, which writes audit
// records that expire after the retention. Like Load it makes no AWS calls.
func LoadAuditStream(ctx context.Context) (*AuditEnv, error) {
	as, err := ReadAuditSettings(os.Getenv)
	if err != nil {
		return nil, err
	}
	return loadAudit(ctx, as)
}

func loadAudit(ctx context.Context, as AuditSettings) (*AuditEnv, error) {
	env, err := Load(ctx)
	if err != nil {
		return nil, err
	}
	return &AuditEnv{
		Env:        env,
		Audit:      as,
		AuditStore: auditstore.New(dynamodb.NewFromConfig(env.AWS), as.Table, as.Retention),
	}, nil
}

// MustLoadAudit is LoadAudit for a function's init: on failure it logs the
// reason and exits, as MustLoad does.
func MustLoadAudit() *AuditEnv { return mustAudit(LoadAudit(context.Background())) }

// MustLoadAuditStream is LoadAuditStream for a function's init, as MustLoad.
func MustLoadAuditStream() *AuditEnv { return mustAudit(LoadAuditStream(context.Background())) }

func mustAudit(env *AuditEnv, err error) *AuditEnv {
	if err != nil {
		NewLogger(os.Stderr, slog.LevelInfo).Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	return env
}
