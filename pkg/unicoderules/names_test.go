package unicoderules

import (
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
