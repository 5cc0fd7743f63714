package awsenv

import (
	"fmt"
	"strconv"
	"strings"
	"time"
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
