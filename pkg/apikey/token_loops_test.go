package apikey

import (
	"hash/crc32"
	"math/big"
	"math/rand/v2"
	"regexp"
	"testing"
)

// TestCharacterChecksMatchTheirRegularExpressions: the loops that replaced
// the token regular expressions accept exactly what those accepted.
func TestCharacterChecksMatchTheirRegularExpressions(t *testing.T) {
	ulidRE := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)
	secretRE := regexp.MustCompile(`^[0-9A-Za-z]{43}$`)
	r := rand.New(rand.NewPCG(1, 2))
	gen := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			if r.IntN(8) == 0 {
				b[i] = byte(r.IntN(256))
			} else {
				b[i] = base62Alphabet[r.IntN(len(base62Alphabet))]
			}
		}
		return string(b)
	}
	for i := 0; i < 20000; i++ {
		for _, n := range []int{25, 26, 27} {
			s := gen(n)
			if got, want := isULID(s), ulidRE.MatchString(s); got != want {
				t.Fatalf("isULID(%q) = %v, regexp says %v", s, got, want)
			}
		}
		for _, n := range []int{42, 43, 44} {
			s := gen(n)
			if got, want := isSecret(s), secretRE.MatchString(s); got != want {
				t.Fatalf("isSecret(%q) = %v, regexp says %v", s, got, want)
			}
		}
	}
	for c := 0; c < 256; c++ {
		s := string(rune('0')) + string([]byte{byte(c)}) + "000000000000000000000000"
		if got, want := isULID(s), ulidRE.MatchString(s); got != want {
			t.Errorf("isULID with byte %#x = %v, regexp says %v", c, got, want)
		}
	}
}

// TestChecksumMatchesTheBigIntEncoding: the uint32 base62 encoding of the
// checksum gives the characters the big.Int encoding gave.
func TestChecksumMatchesTheBigIntEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		b := make([]byte, r.IntN(100))
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		want := base62(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE(b))), checksumLen)
		if got := checksum(string(b)); got != want {
			t.Fatalf("checksum(%q) = %s, want %s", b, got, want)
		}
	}
}
