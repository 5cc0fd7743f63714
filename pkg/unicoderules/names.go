// Package unicoderules holds the Unicode rules keyward applies to what people
// type: the comparison form of key names (normalisation, case folding,
// confusable skeletons) and the ASCII form of internationalised host names
// (IDNA). Rules implements apikey.Unicode.
//
// The rules need large Unicode tables (golang.org/x/text, x/net/idna and the
// confusables data, about 0.4 MiB of a binary), so they live apart from the
// domain: only the functions that validate names and allow-lists link them;
// the authorizer and the stores work with the stored forms and do not.
package unicoderules

import (
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Rules implements apikey.Unicode with the functions of this package.
type Rules struct{}

// NFC is s in Unicode Normalization Form C.
func (Rules) NFC(s string) string { return norm.NFC.String(s) }

// NameKey is the package's NameKey.
func (Rules) NameKey(name string) string { return NameKey(name) }

// HostToASCII is the package's HostToASCII.
func (Rules) HostToASCII(host string) (string, bool) { return HostToASCII(host) }

// HostToASCII converts an internationalised host name to its ASCII (punycode,
// xn--) form under the IDNA lookup rules, which is how browsers send it; ok is
// false when the name is not a valid IDNA name.
func HostToASCII(host string) (string, bool) {
	a, err := idna.Lookup.ToASCII(host)
	return a, err == nil
}

// NameKey is the form of a name that uniqueness and prefix search compare:
// two names with the same NameKey cannot both be held by keys of one tenant,
// and a search for q matches the names whose NameKey starts with NameKey(q).
//
// It is the NFKC-normalised, case-folded name (so full-width, ligature,
// composed and decomposed spellings and every case meet), without
// default-ignorable characters (zero-width characters, bidi controls,
// variation selectors, Hangul fillers), with each run of white space made one
// space, mapped to its confusable skeleton (Unicode UTS #39). The skeleton is
// what makes Cyrillic "р" meet Latin "p", "0" meet "O" and "rn" meet "m":
// folding and NFKC alone keep letters of different scripts apart. Refusing
// names that mix scripts was the alternative, but it still lets whole-script
// look-alikes coexist and refuses honest names such as "Отчёт Payroll".
//
// Case folding comes before the skeleton: the skeleton maps capital I to l,
// and mapping before folding would part "Import" from "import". So "PayroII"
// with capital I's stays apart from "Payroll" (it meets "payroii"); keeping
// names case-insensitive wins.
//
// Each step can make the input of another change (a skeleton may hold capital
// letters or compatibility characters), so the steps repeat until the key no
// longer changes: NameKey(NameKey(x)) == NameKey(x).
//
// The key is for comparison only; a key's displayed name is what was typed.
func NameKey(name string) string {
	k := name
	for range maxNameKeyRounds {
		next := nameKeyRound(k)
		if next == k {
			break
		}
		k = next
	}
	return k
}

// maxNameKeyRounds bounds NameKey's repetition; real text settles in two.
const maxNameKeyRounds = 8

func nameKeyRound(s string) string {
	fold := cases.Fold() // a Caser is not safe for concurrent use
	s = norm.NFKC.String(dropIgnorable(s))
	s = norm.NFKC.String(fold.String(s))
	s = fold.String(confusables.Skeleton(s))
	// The skeleton is decomposed (NFD); composing it again changes no
	// comparison (NFC and NFD are equal exactly when the texts are
	// canonically equivalent) but keeps Hangul three bytes a syllable.
	return collapseSpace(norm.NFC.String(s))
}

// dropIgnorable removes default-ignorable code points: format characters
// (Cf), variation selectors and the other characters Unicode says render as
// nothing.
func dropIgnorable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) {
			return -1
		}
		return r
	}, s)
}

// collapseSpace trims s and turns each run of white space into one space.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
