package listencheck

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

var errUnsupported = errors.New("listing a process's sockets needs Linux's /proc")

// tcpListen is the LISTEN state in /proc/net/tcp{,6}.
const tcpListen = "0A"

// Listeners returns the listening TCP sockets (IPv4 and IPv6) that the
// processes pids hold open: the socket inodes of /proc/<pid>/fd matched
// against the kernel's tables /proc/net/tcp and /proc/net/tcp6.
func Listeners(pids ...int) ([]Listener, error) {
	table := map[string]netip.AddrPort{} // socket inode → bound address
	for _, name := range []string{"tcp", "tcp6"} {
		if err := readTCPTable(filepath.Join("/proc/self/net", name), table); err != nil {
			return nil, err
		}
	}
	var out []Listener
	for _, pid := range pids {
		dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the process has just exited
			}
			return nil, fmt.Errorf("sockets of pid %d: %w", pid, err)
		}
		comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil {
				continue // closed meanwhile
			}
			inode, ok := strings.CutPrefix(link, "socket:[")
			if !ok {
				continue
			}
			if addr, ok := table[strings.TrimSuffix(inode, "]")]; ok {
				out = append(out, Listener{Addr: addr, PID: pid, Command: strings.TrimSpace(string(comm))})
			}
		}
	}
	return out, nil
}

// readTCPTable adds the listening sockets of one /proc/net/tcp{,6} table to
// table, keyed by inode. Lines read
// "sl local_address rem_address st ... uid timeout inode ...", with the local
// address as hex words in host byte order and the port in hex.
func readTCPTable(path string, table map[string]netip.AddrPort) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && strings.HasSuffix(path, "6") {
			return nil // no IPv6 in this kernel
		}
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != tcpListen {
			continue
		}
		addr, err := parseHexAddrPort(fields[1])
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		table[fields[9]] = addr
	}
	return sc.Err()
}

// parseHexAddrPort decodes "0100007F:1F40" (127.0.0.1:8000 on a
// little-endian machine) and its 32-hex-digit IPv6 form.
func parseHexAddrPort(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q", s)
	}
	raw, err := hex.DecodeString(hexAddr)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	// Each 32-bit word was printed as a number: put its bytes back in
	// memory order.
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// childrenByParent maps each running process's parent PID to its PIDs.
func childrenByParent() (map[int][]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	return children, nil
}
