package dynamostore

import "fmt"

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
)

func keyPK(id string) string               { return "KEY#" + id }
func tenantPK(tenant string) string        { return "TENANT#" + tenant }
func defaultPK(tenant string) string       { return "DEFAULT#" + tenant }
func namePK(tenant, nameKey string) string { return "NAME#" + tenant + "#" + nameKey }
func nameSK(nameKey, id string) string     { return nameKey + "#" + id }
func pepperSK(version int) string          { return fmt.Sprintf("V#%010d", version) }
