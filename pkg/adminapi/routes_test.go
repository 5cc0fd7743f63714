package adminapi_test

import (
	"testing"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/auditapi"
	"github.com/keyward/keyward/pkg/tenantapi"
	"github.com/keyward/keyward/pkg/verifyapi"
)

// TestEveryTableRouteIsMountedByItsFunction: the route sets the functions
// mount cover apikey's route table exactly, each route in the set of the
// function the table names.
func TestEveryTableRouteIsMountedByItsFunction(t *testing.T) {
	mounted := map[string]string{} // "METHOD path" → function
	for fn, routes := range map[string][]apigw.Route{
		"CreateFunction":  adminapi.CreateRoutes(nil),
		"ListFunction":    adminapi.ListRoutes(nil),
		"EditFunction":    adminapi.EditRoutes(nil),
		"RevokeFunction":  adminapi.RevokeRoutes(nil),
		"AuditFunction":   auditapi.Routes(nil),
		"VerifyFunction":  verifyapi.Routes(nil),
		"TenantsFunction": tenantapi.Routes(nil),
		"PolicyFunction":  adminapi.PolicyRoutes(nil),
	} {
		apigw.NewRouter(nil, routes...) // panics on a route outside the table
		for _, r := range routes {
			mounted[r.Method+" "+r.Resource] = fn
		}
	}
	for _, e := range apikey.AdminRoutes() {
		key := e.Method + " " + e.Path
		if got := mounted[key]; got != e.Function {
			t.Errorf("%s is mounted by %q, the table says %s", key, got, e.Function)
		}
		delete(mounted, key)
	}
	for key, fn := range mounted {
		t.Errorf("%s mounts %s, which the table lacks", fn, key)
	}
}
