// Package listencheck proves in tests that servers listen on loopback only:
// it finds every listening TCP socket a set of processes holds (Linux: the
// kernel's socket tables in /proc, so no tool is needed), checks that each is
// bound to a loopback address, and dials each from every other address of
// the machine, which must be refused.
package listencheck

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Listener is a listening TCP socket and the process holding it.
type Listener struct {
	Addr    netip.AddrPort // the local address it is bound to
	PID     int
	Command string // the process's command name, for messages
}

func (l Listener) String() string {
	return fmt.Sprintf("%s (pid %d, %s)", l.Addr, l.PID, l.Command)
}

// NonLoopbackHosts returns every address of this machine's interfaces that
// is not a loopback address, as hosts for net.JoinHostPort (IPv6 link-local
// ones with their zone).
func NonLoopbackHosts() ([]string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipnet.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.IsLoopback() || ip.IsUnspecified() {
				continue
			}
			if ip.Is6() && ip.IsLinkLocalUnicast() {
				ip = ip.WithZone(ifc.Name)
			}
			hosts = append(hosts, ip.String())
		}
	}
	return hosts, nil
}

// dialTimeout bounds each connection attempt. An address of this machine
// refuses a closed port at once; the timeout only matters if a firewall
// drops the attempt, which counts as unreachable too.
const dialTimeout = 2 * time.Second

// LoopbackOnly fails tb unless every listening TCP socket held by the
// processes pids is bound to a loopback address and refuses connections on
// every non-loopback address of the machine, each port in ports is among
// them, and each of those accepts connections on 127.0.0.1.
//
// Where the processes' sockets cannot be listed (not Linux), it checks the
// given ports by dialing alone.
func LoopbackOnly(tb testing.TB, pids []int, ports ...int) {
	tb.Helper()
	hosts, err := NonLoopbackHosts()
	if err != nil {
		tb.Fatalf("listencheck: interface addresses: %v", err)
	}
	if len(hosts) == 0 {
		tb.Logf("listencheck: this machine has no non-loopback address; the bound addresses are the proof")
	}

	listeners, err := Listeners(pids...)
	switch {
	case err == errUnsupported:
		tb.Logf("listencheck: %v; checking ports %v by dialing only", err, ports)
		for _, p := range ports {
			listeners = append(listeners, Listener{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(p)), Command: "?"})
		}
	case err != nil:
		tb.Fatalf("listencheck: %v", err)
	}
	if len(listeners) == 0 {
		tb.Fatalf("listencheck: processes %v hold no listening socket", pids)
	}

	tb.Logf("listencheck: %d listening sockets of processes %v: %v; non-loopback addresses: %v", len(listeners), pids, listeners, hosts)
	seen := map[int]bool{}
	for _, l := range listeners {
		seen[int(l.Addr.Port())] = true
		if !l.Addr.Addr().Unmap().IsLoopback() {
			tb.Errorf("listencheck: %v is not bound to a loopback address", l)
		}
	}
	for _, p := range ports {
		if !seen[p] {
			tb.Errorf("listencheck: port %d is not among the listening sockets of processes %v: %v", p, pids, listeners)
			continue
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), dialTimeout)
		if err != nil {
			tb.Errorf("listencheck: port %d refuses connections on 127.0.0.1: %v", p, err)
			continue
		}
		c.Close()
	}

	checked := map[uint16]bool{}
	for _, l := range listeners {
		port := l.Addr.Port()
		if checked[port] {
			continue
		}
		checked[port] = true
		for _, h := range hosts {
			addr := net.JoinHostPort(h, strconv.Itoa(int(port)))
			if c, err := net.DialTimeout("tcp", addr, dialTimeout); err == nil {
				c.Close()
				tb.Errorf("listencheck: %s accepts connections (listener %v)", addr, l)
			}
		}
	}
}

// Tree returns pid and every process descended from it that runs now.
func Tree(pid int) ([]int, error) {
	children, err := childrenByParent()
	if err != nil {
		return nil, err
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	slices.Sort(out)
	return out, nil
}

// Self returns this process and every process descended from it.
func Self(tb testing.TB) []int {
	tb.Helper()
	pids, err := Tree(os.Getpid())
	if err == errUnsupported {
		return []int{os.Getpid()}
	}
	if err != nil {
		tb.Fatalf("listencheck: %v", err)
	}
	return pids
}
