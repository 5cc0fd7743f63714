package dynamostore

import (
	"fmt"
	"time"
)

// Item keys. Every key-builder of the keys table lives here; template.yaml
// documents the same layout next to the table definition.
const (
	skKey     = "KEY"
	skUsage   = "USAGE"
	skName    = "NAME"
	skDefault = "DEFAULT"
	pkPepper  = "PEPPER"

	indexByTenant = "byTenant"
	indexByName   = "byName"
	indexByExpiry = "byExpiry"
	indexByIdle   = "byIdle"

	expiryPrefix = "EXP#"
	idlePrefix   = "IDLE#"
	remindPrefix = "REMIND#"
	dayLayout    = "2006-01-02"
)

func expiryPK(t time.Time) string { return expiryPrefix + t.UTC().Format(dayLayout) }
func idlePK(t time.Time) string   { return idlePrefix + t.UTC().Format(dayLayout) }
func remindPK(id string) string   { return remindPrefix + id }

func keyPK(id string) string               { return "KEY#" + id }
func tenantPK(tenant string) string        { return "TENANT#" + tenant }
func defaultPK(tenant string) string       { return "DEFAULT#" + tenant }
func namePK(tenant, nameKey string) string { return "NAME#" + tenant + "#" + nameKey }
func nameSK(nameKey, id string) string     { return nameKey + "#" + id }
func pepperSK(version int) string          { return fmt.Sprintf("V#%010d", version) }
