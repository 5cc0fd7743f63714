package listencheck

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
)

// hexOf renders addr and port the way /proc/net/tcp{,6} does on this machine.
func hexOf(ap netip.AddrPort) string {
	b := ap.Addr().AsSlice()
	s := ""
	for i := 0; i < len(b); i += 4 {
		s += fmt.Sprintf("%08X", binary.NativeEndian.Uint32(b[i:]))
	}
	return fmt.Sprintf("%s:%04X", s, ap.Port())
}

func TestParseHexAddrPort(t *testing.T) {
	for _, want := range []string{"127.0.0.1:8000", "0.0.0.0:3000", "192.0.2.2:1", "[::1]:443", "[::]:65535", "[fd00::2]:8000", "[::ffff:127.0.0.1]:3001"} {
		ap := netip.MustParseAddrPort(want)
		got, err := parseHexAddrPort(hexOf(ap))
		if err != nil || got != ap {
			t.Errorf("parseHexAddrPort(%s) = %v, %v; want %v", hexOf(ap), got, err, ap)
		}
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 { // little-endian: the kernel's own spelling
		if got, err := parseHexAddrPort("0100007F:1F40"); err != nil || got != netip.MustParseAddrPort("127.0.0.1:8000") {
			t.Errorf("parseHexAddrPort(0100007F:1F40) = %v, %v", got, err)
		}
	}
	for _, bad := range []string{"", "0100007F", "0100007F:XYZ", "01007F:1F40", "zz00007F:1F40"} {
		if _, err := parseHexAddrPort(bad); err == nil {
			t.Errorf("parseHexAddrPort(%q) succeeded", bad)
		}
	}
}
