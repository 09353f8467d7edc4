package sockowner

import (
	"bufio"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"strings"
)

// connUID finds the socket whose local end is client and remote end is
// server (the client side of a loopback connection) and returns its owner.
func connUID(client, server *net.TCPAddr) (int, bool) {
	file, size := "/proc/net/tcp", net.IPv4len
	if client.IP.To4() == nil {
		file, size = "/proc/net/tcp6", net.IPv6len
	}
	found, uid := false, 0
	scan(file, func(fields []string) bool {
		if fields[3] != "01" { // ESTABLISHED
			return true
		}
		l, lok := procAddr(fields[1], size)
		r, rok := procAddr(fields[2], size)
		if lok && rok && l.Port == client.Port && r.Port == server.Port && l.IP.Equal(client.IP) && r.IP.Equal(server.IP) {
			if n, err := strconv.Atoi(fields[7]); err == nil {
				found, uid = true, n
			}
			return false
		}
		return true
	})
	return uid, found
}

// scan calls fn with the fields of each socket line of file until fn
// returns false.
func scan(file string, fn func(fields []string) bool) {
	f, err := os.Open(file)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 8 && !fn(fields) {
			return
		}
	}
}

// procAddr decodes "HEXIP:HEXPORT".
func procAddr(s string, size int) (*net.TCPAddr, bool) {
	host, p, ok := strings.Cut(s, ":")
	if !ok {
		return nil, false
	}
	ip, err := procIP(host, size)
	if err != nil {
		return nil, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return nil, false
	}
	return &net.TCPAddr{IP: ip, Port: int(port)}, true
}

// listenerUID reads /proc/net/tcp or tcp6, where the kernel lists every
// socket with its owner's UID (st 0A is LISTEN). A wildcard listener on
// the port counts too.
func listenerUID(ip string, port int) (int, bool) {
	addr := net.ParseIP(ip)
	if addr == nil {
		return 0, false
	}
	file, size := "/proc/net/tcp", net.IPv4len
	if addr.To4() == nil {
		file, size = "/proc/net/tcp6", net.IPv6len
	}
	found, uid := false, 0
	scan(file, func(fields []string) bool {
		if fields[3] != "0A" {
			return true
		}
		l, ok := procAddr(fields[1], size)
		if !ok || l.Port != port || !(l.IP.Equal(addr) || l.IP.IsUnspecified()) {
			return true
		}
		if n, err := strconv.Atoi(fields[7]); err == nil {
			found, uid = true, n
		}
		return false
	})
	return uid, found
}

// procIP decodes an address of /proc/net/tcp*: 32-bit words in host byte
// order (little-endian on the machines Linux runs this on).
func procIP(s string, size int) (net.IP, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != size {
		return nil, strconv.ErrSyntax
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return net.IP(b), nil
}
