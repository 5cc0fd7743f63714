package dynamostore

import (
	"fmt"
	"hash/fnv"
	"time"
)

// Item keys. Every key-builder of the keys table lives here; template.yaml
// documents the same layout next to the table definition.
const (
	skKey       = "KEY"
	skUsage     = "USAGE"
	skName      = "NAME"
	skDefault   = "DEFAULT"
	skTenant    = "TENANT"
	skSuspended = "SUSPENDED"
	pkPepper    = "PEPPER"

	// gsiTenants is the byTenant partition listing tenant items, newest first.
	gsiTenants = "TENANTS"

	indexByTenant = "byTenant"
	indexByName   = "byName"
	indexByExpiry = "byExpiry"
	indexByIdle   = "byIdle"

	expiryPrefix = "EXP#"
	idlePrefix   = "IDLE#"
	remindPrefix = "REMIND#"
	dayLayout    = "2006-01-02"
)

// suspendedShards is how many copies of the suspended-tenants set exist. A
// key read takes the copy its key ID hashes to, so verifications spread over
// this many partitions (each serves 3,000 consistent reads a second).
const suspendedShards = 16

func expiryPK(t time.Time) string { return expiryPrefix + t.UTC().Format(dayLayout) }
func idlePK(t time.Time) string   { return idlePrefix + t.UTC().Format(dayLayout) }
func remindPK(id string) string   { return remindPrefix + id }

func keyPK(id string) string               { return "KEY#" + id }
func tenantPK(tenant string) string        { return "TENANT#" + tenant }
func defaultPK(tenant string) string       { return "DEFAULT#" + tenant }
func namePK(tenant, nameKey string) string { return "NAME#" + tenant + "#" + nameKey }
func nameSK(nameKey, id string) string     { return nameKey + "#" + id }
func pepperSK(version int) string          { return fmt.Sprintf("V#%010d", version) }
func suspendedPK(shard int) string         { return fmt.Sprintf("SUSPENDED#%02d", shard) }

// suspendedShardOf is the copy of the suspended-tenants set read with a key.
func suspendedShardOf(keyID string) int {
	h := fnv.New32a()
	h.Write([]byte(keyID))
	return int(h.Sum32() % suspendedShards)
}
