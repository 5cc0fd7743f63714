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
	// 1-3650 days, default 400); only the stream function writes with it.
	Retention time.Duration
}

// ReadAuditSettings reads and checks the audit settings through getenv. A
// missing or malformed setting is an error naming the variable.
func ReadAuditSettings(getenv func(string) string) (AuditSettings, error) {
	s := AuditSettings{Table: strings.TrimSpace(getenv("AUDIT_TABLE"))}
	if s.Table == "" {
		return AuditSettings{}, fmt.Errorf("AUDIT_TABLE is not set")
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

// LoadAudit is Load for the audit functions. Like Load it makes no AWS calls.
func LoadAudit(ctx context.Context) (*AuditEnv, error) {
	as, err := ReadAuditSettings(os.Getenv)
	if err != nil {
		return nil, err
	}
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
func MustLoadAudit() *AuditEnv {
	env, err := LoadAudit(context.Background())
	if err != nil {
		NewLogger(os.Stderr, slog.LevelInfo).Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	return env
}
