package dynamostore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/unicoderules"
)

// TestLookAlikeNamesCannotCoexist: against DynamoDB Local, a name that looks
// like a taken one is name_taken, through create and rename; one that hides
// invisible characters is refused naming the field. Nothing is written.
func TestLookAlikeNamesCannotCoexist(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	create := func(name string) error {
		_, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: name, Scopes: []string{"payroll:read"}})
		return err
	}
	if err := create("Payroll"); err != nil {
		t.Fatal(err)
	}
	other, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "Other", Scopes: []string{"payroll:read"}})
	if err != nil {
		t.Fatal(err)
	}
	taken := map[string]string{
		"Lowercase":         "payroll",
		"CyrillicEr":        "\u0440ayroll",
		"FullWidth":         "\uff30\uff41\uff59\uff52\uff4f\uff4c\uff4c",
		"UpperCase":         "PAYROLL",
		"ZeroForO":          "Payr0ll",
		"MathematicalBold":  "\U0001d40f\U0001d41a\U0001d432\U0001d42b\U0001d428\U0001d425\U0001d425",
		"HangulFillerAtEnd": "Payroll\u3164",
	}
	refused := map[string]string{
		"TrailingZeroWidthSpace": "payroll\u200b",
		"RightToLeftOverride":    "Payroll\u202e",
		"ByteOrderMarkFirst":     "\ufeffPayroll",
		"SoftHyphenInside":       "Pay\u00adroll",
	}
	for name, n := range taken {
		t.Run("Create"+name, func(t *testing.T) {
			if err := create(n); code(err) != apikey.ECodeNameTaken {
				t.Fatalf("create %+q: err = %v, want name_taken", n, err)
			}
		})
		t.Run("Rename"+name, func(t *testing.T) {
			if _, err := st.svc.Update(ctx, admin, other.ID, apikey.PatchInput{Name: &n}, nil); code(err) != apikey.ECodeNameTaken {
				t.Fatalf("rename to %+q: err = %v, want name_taken", n, err)
			}
		})
	}
	for name, n := range refused {
		t.Run("Create"+name, func(t *testing.T) {
			e, ok := apikey.AsError(create(n))
			if !ok || e.Code != apikey.ECodeInvalid || e.Field != "name" {
				t.Fatalf("create %+q: err = %v, want invalid_request naming name", n, e)
			}
		})
	}

	// Composed and decomposed é are one name, whichever comes first.
	if err := create("caf\u00e9"); err != nil {
		t.Fatal(err)
	}
	if err := create("cafe\u0301"); code(err) != apikey.ECodeNameTaken {
		t.Fatalf("NFD café after NFC café: err = %v, want name_taken", err)
	}
	if err := create("Cre\u0300me"); err != nil {
		t.Fatal(err)
	}
	if err := create("CR\u00c8ME"); code(err) != apikey.ECodeNameTaken {
		t.Fatalf("NFC CRÈME after NFD Crème: err = %v, want name_taken", err)
	}

	page, err := st.svc.List(ctx, admin, apikey.ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range page.Items {
		names = append(names, k.Name)
	}
	// The default key, Payroll, Other, café, Crème: the refusals wrote nothing.
	if len(names) != 5 {
		t.Fatalf("keys = %+q, want 5", names)
	}
	for _, want := range []string{"Payroll", "Other", "caf\u00e9", "Cr\u00e8me"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("keys = %+q, want %+q displayed as typed (in NFC)", names, want)
		}
	}
}

// TestNameSearchMatchesEverySpelling: list's q, a prefix of NameKey, finds
// a name whatever spelling of its start is typed.
func TestNameSearchMatchesEverySpelling(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	for _, n := range []string{"Payroll export", "caf\u00e9 orders", "Billing"} {
		if _, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: n, Scopes: []string{"payroll:read"}}); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]string{
		"pay": "Payroll export", "PAYROLL EX": "Payroll export", "\u0440ay": "Payroll export",
		"\uff30\uff41\uff59": "Payroll export", "Payr0": "Payroll export",
		"caf\u00e9": "caf\u00e9 orders", "cafe\u0301 o": "caf\u00e9 orders", "CAF": "caf\u00e9 orders",
	} {
		page, err := st.svc.List(ctx, admin, apikey.ListInput{Q: q})
		if err != nil {
			t.Fatalf("q %+q: %v", q, err)
		}
		if len(page.Items) != 1 || page.Items[0].Name != want {
			t.Errorf("q %+q: %d items, want exactly %q", q, len(page.Items), want)
		}
	}
	if _, err := st.svc.List(ctx, admin, apikey.ListInput{Q: "pay\u200b"}); code(err) != apikey.ECodeInvalid {
		t.Errorf("q with a zero-width space: err = %v, want invalid_request", err)
	}
}

// TestTheLongestNameKeyFitsDynamoDB: a name whose NameKey is at the limit is
// stored (claim and index) and found; one byte group more is refused.
func TestTheLongestNameKeyFitsDynamoDB(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	// U+D79C's key is 12 bytes, so 80 of them make a key of 960 bytes.
	long := strings.Repeat("\ud79c", apikey.MaxNameKeyBytes/12)
	if n := len(unicoderules.NameKey(long)); n != apikey.MaxNameKeyBytes {
		t.Fatalf("key of the long name = %d bytes, want %d", n, apikey.MaxNameKeyBytes)
	}
	if _, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: long, Scopes: []string{"payroll:read"}}); err != nil {
		t.Fatalf("create with a %d-byte name key: %v", apikey.MaxNameKeyBytes, err)
	}
	page, err := st.svc.List(ctx, admin, apikey.ListInput{Q: long})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("search by the whole long name: %v, %v", page, err)
	}
	_, err = st.svc.Create(ctx, admin, apikey.CreateInput{Name: long + "\ud79c", Scopes: []string{"payroll:read"}})
	if e, ok := apikey.AsError(err); !ok || e.Field != "name" {
		t.Fatalf("create with a longer name key: err = %v, want invalid name", err)
	}
}

// TestMetadataAndDescriptionRefuseControlCharacters: a refused edit names
// the field and leaves the stored key as it was.
func TestMetadataAndDescriptionRefuseControlCharacters(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	k, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "Payroll", Scopes: []string{"payroll:read"}, Metadata: map[string]string{"owner": "ops"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"NUL": "ops\x00", "ESC": "\x1b]0;pwned\x07", "CRLF": "ops\r\nX-Injected: 1", "BidiOverride": "ops\u202e"} {
		t.Run(name, func(t *testing.T) {
			m := map[string]string{"owner": v}
			_, err := st.svc.Update(ctx, admin, k.ID, apikey.PatchInput{Metadata: &m}, nil)
			if e, ok := apikey.AsError(err); !ok || e.Field != "metadata.owner" {
				t.Fatalf("metadata.owner %+q: err = %v, want invalid metadata.owner", v, err)
			}
			_, err = st.svc.Update(ctx, admin, k.ID, apikey.PatchInput{Description: &v}, nil)
			if e, ok := apikey.AsError(err); !ok || e.Field != "description" {
				t.Fatalf("description %+q: err = %v, want invalid description", v, err)
			}
			got, err := st.svc.Get(ctx, admin, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != k.Version || got.Metadata["owner"] != "ops" || got.Description != "" {
				t.Fatalf("key changed by a refused edit: version %d, metadata %v", got.Version, got.Metadata)
			}
		})
	}
}

// TestALongSearchIsABadRequest: a q whose comparison form would not fit a
// DynamoDB key is a 400 naming q, not a 500 from DynamoDB.
func TestALongSearchIsABadRequest(t *testing.T) {
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	_, err := st.svc.List(context.Background(), admin, apikey.ListInput{Q: strings.Repeat("\uFDFA", 128)})
	if e, ok := apikey.AsError(err); !ok || e.Code != apikey.ECodeInvalid || e.Field != "q" {
		t.Fatalf("err = %v, want invalid_request naming q", err)
	}
}
