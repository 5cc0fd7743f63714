package apikey

import (
	"context"
	"strings"
	"testing"
)

// lookAlikes of "Payroll": each must compare equal to it.
var lookAlikes = map[string]string{
	"Lowercase":               "payroll",
	"TrailingZeroWidthSpace":  "payroll\u200b",
	"CyrillicEr":              "\u0440ayroll",
	"RightToLeftOverride":     "Payroll\u202e",
	"FullWidth":               "\uff30\uff41\uff59\uff52\uff4f\uff4c\uff4c",
	"ZeroForO":                "Payr0ll",
	"ByteOrderMarkFirst":      "\ufeffPayroll",
	"SoftHyphenInside":        "Pay\u00adroll",
	"HangulFillerAtTheEnd":    "Payroll\u3164",
	"MathematicalBoldLetters": "\U0001d40f\U0001d41a\U0001d432\U0001d42b\U0001d428\U0001d425\U0001d425",
}

func TestLookAlikeNamesShareANameKey(t *testing.T) {
	want := NameKey("Payroll")
	for name, s := range lookAlikes {
		t.Run(name, func(t *testing.T) {
			if got := NameKey(s); got != want {
				t.Errorf("NameKey(%+q) = %+q, want %+q (the key of Payroll)", s, got, want)
			}
		})
	}
	if a, b := NameKey("caf\u00e9"), NameKey("cafe\u0301"); a != b {
		t.Errorf("NFC and NFD café: keys %+q and %+q differ", a, b)
	}
	for _, s := range []string{"Pay   roll", "Pay\u00a0roll", "Pay\u3000roll", " Pay roll\t"} {
		if a, b := NameKey("Pay roll"), NameKey(s); a != b {
			t.Errorf("spaces: keys %+q and %+q differ", a, b)
		}
	}
	// Different names stay different.
	for _, other := range []string{"Payrolls", "Pay roll", "Payrol", "Bayroll"} {
		if NameKey(other) == want {
			t.Errorf("NameKey(%q) = NameKey(Payroll), want them apart", other)
		}
	}
}

func TestNameKeyIsAPrefixOfTheKeyOfALongerName(t *testing.T) {
	// List's q is a prefix search over NameKey: typing the start of a name,
	// in any of its spellings, must find it.
	for name, qs := range map[string][]string{
		"Payroll export":            {"pay", "PAY", "\u0440ay", "\uff30\uff41\uff59", "payroll ex", "Payr0"},
		"caf\u00e9 orders":          {"caf\u00e9", "cafe\u0301", "CAF\u00c9 o"},
		"\uae09\uc5ec \uc5f0\ub3d9": {"\uae09", "\uae09\uc5ec"},
	} {
		for _, q := range qs {
			if k, qk := NameKey(name), NameKey(q); !strings.HasPrefix(k, qk) {
				t.Errorf("NameKey(%+q) = %+q does not start with NameKey(%+q) = %+q", name, k, q, qk)
			}
		}
	}
}

func TestNameIsDisplayedAsTypedInNFC(t *testing.T) {
	got, err := validateName("  cafe\u0301 Payroll ")
	if err != nil {
		t.Fatal(err)
	}
	if want := "caf\u00e9 Payroll"; got != want {
		t.Errorf("name = %+q, want %+q", got, want)
	}
	got, err = validateName("\u0440ayroll")
	if err != nil || got != "\u0440ayroll" {
		t.Errorf("name = %+q, %v; want the Cyrillic spelling kept for display", got, err)
	}
}

// TestInvisibleAndControlCharactersAreRefused: names, descriptions and
// metadata keys and values refuse control (Cc) and format (Cf) characters,
// naming the field; only a description may hold LF and TAB.
func TestInvisibleAndControlCharactersAreRefused(t *testing.T) {
	bad := map[string]string{
		"NUL": "\x00", "ESC": "\x1b[31m", "CRLF": "\r\n", "CR": "\r", "DEL": "\x7f", "C1": "\u0085",
		"ZeroWidthSpace": "\u200b", "ZeroWidthJoiner": "\u200d", "RightToLeftOverride": "\u202e",
		"LeftToRightIsolate": "\u2066", "ByteOrderMark": "\ufeff", "SoftHyphen": "\u00ad",
		"LineSeparator": "\u2028", "ParagraphSeparator": "\u2029", "ReplacementCharacter": "\ufffd",
		"InvalidUTF8": "\xff",
	}
	s := newValidationService()
	ctx := context.Background()
	for name, c := range bad {
		cases := []struct {
			field string
			in    CreateInput
			patch PatchInput
		}{
			{"name", CreateInput{Name: "Pay" + c + "roll"}, PatchInput{Name: strp("Pay" + c + "roll")}},
			{"description", CreateInput{Name: "x", Description: "line" + c + "more"}, PatchInput{Description: strp("line" + c + "more")}},
			{"metadata.owner", CreateInput{Name: "x", Metadata: map[string]string{"owner": "ops" + c + "team"}},
				PatchInput{Metadata: &map[string]string{"owner": "ops" + c + "team"}}},
			{"metadata", CreateInput{Name: "x", Metadata: map[string]string{"own" + c + "er": "ops"}},
				PatchInput{Metadata: &map[string]string{"own" + c + "er": "ops"}}},
		}
		for _, tc := range cases {
			t.Run(name+"In"+tc.field, func(t *testing.T) {
				tc.in.Scopes = []string{"payroll:read"}
				_, err := s.Create(ctx, admin, tc.in)
				if e, ok := AsError(err); !ok || e.Code != ECodeInvalid || e.Field != tc.field || !strings.HasPrefix(e.Message, tc.field+": ") {
					t.Errorf("create: err = %v, want invalid_request naming %s", err, tc.field)
				}
				_, err = s.Update(ctx, admin, "key_01JD0000000000000000000000", tc.patch, nil)
				if e, ok := AsError(err); !ok || e.Code != ECodeInvalid || e.Field != tc.field {
					t.Errorf("update: err = %v, want invalid_request naming %s", err, tc.field)
				}
			})
		}
	}
}

func TestDescriptionMayHoldLineFeedsAndTabs(t *testing.T) {
	if err := validateDescription("first line\n\tsecond line"); err != nil {
		t.Fatalf("description with LF and TAB: %v", err)
	}
	for _, v := range []string{"a\nb", "a\tb"} {
		if err := validateMetadata(map[string]string{"owner": v}); err == nil {
			t.Errorf("metadata value %+q accepted; only descriptions may hold LF and TAB", v)
		}
	}
}

func TestMetadataErrorsDoNotDependOnMapOrder(t *testing.T) {
	m := map[string]string{"a": "x\x00", "b": "y\x00", "c": "z\x00", "d": "w\x00"}
	for range 50 {
		e, ok := AsError(validateMetadata(m))
		if !ok || e.Field != "metadata.a" {
			t.Fatalf("err = %v, want the first key in order, metadata.a", e)
		}
	}
}

func TestNamesWithoutAVisibleCharacterOrTooLongAKeyAreRefused(t *testing.T) {
	for _, n := range []string{"\u3164", "\u115f\u1160", "\ufe0f"} {
		if _, err := validateName(n); err == nil {
			t.Errorf("name %+q accepted, want refused (nothing visible)", n)
		}
	}
	// 128 characters, each of whose NameKey is 30 bytes: the key would not
	// fit a DynamoDB sort key.
	long := strings.Repeat("\ufdfa", MaxNameLen)
	if e, ok := AsError(func() error { _, err := validateName(long); return err }()); !ok || e.Field != "name" {
		t.Errorf("name with a %d-byte key: err = %v, want invalid name", len(NameKey(long)), e)
	}
	// Korean at its longest realistic key still fits at 128 characters.
	korean := strings.Repeat("\ub300\ud55c\ubbfc\uad6d ", MaxNameLen/5)
	if _, err := validateName(korean); err != nil {
		t.Errorf("128 Korean characters (key %d bytes): %v", len(NameKey(korean)), err)
	}
}
