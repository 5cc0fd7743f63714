package bench

import (
	"slices"
	"testing"

	"github.com/keyward/keyward/pkg/apikey"
)

// TestEveryColdFunctionHasACase: each name in ColdFunctions has a case in
// coldCases, and no case is left out of ColdFunctions.
func TestEveryColdFunctionHasACase(t *testing.T) {
	cases := (&Env{}).coldCases(&coldFixtures{probe: &apikey.Issued{}})
	for _, f := range ColdFunctions {
		if c, ok := cases[f]; !ok || c.Event == nil || c.Check == nil {
			t.Errorf("%s: no cold case with an event and a check", f)
		}
	}
	for name := range cases {
		if !slices.Contains(ColdFunctions, name) {
			t.Errorf("cold case %s is not in ColdFunctions", name)
		}
	}
}
