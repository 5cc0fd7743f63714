package apikey

import (
	"context"
	"strings"
	"testing"
)

func TestNameIsDisplayedAsTypedInNFC(t *testing.T) {
	got, err := validateName(text, "  cafe\u0301 Payroll ")
	if err != nil {
		t.Fatal(err)
	}
	if want := "caf\u00e9 Payroll"; got != want {
		t.Errorf("name = %+q, want %+q", got, want)
	}
	got, err = validateName(text, "\u0440ayroll")
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
		if _, err := validateName(text, n); err == nil {
			t.Errorf("name %+q accepted, want refused (nothing visible)", n)
		}
	}
	// 128 characters, each of whose NameKey is 30 bytes: the key would not
	// fit a DynamoDB sort key.
	long := strings.Repeat("\ufdfa", MaxNameLen)
	if e, ok := AsError(func() error { _, err := validateName(text, long); return err }()); !ok || e.Field != "name" {
		t.Errorf("name with a %d-byte key: err = %v, want invalid name", len(text.NameKey(long)), e)
	}
	// Korean at its longest realistic key still fits at 128 characters.
	korean := strings.Repeat("\ub300\ud55c\ubbfc\uad6d ", MaxNameLen/5)
	if _, err := validateName(text, korean); err != nil {
		t.Errorf("128 Korean characters (key %d bytes): %v", len(text.NameKey(korean)), err)
	}
}
