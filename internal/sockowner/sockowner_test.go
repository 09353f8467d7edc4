package sockowner

import (
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestDescribe names the owner of a port this test holds: itself.
func TestDescribe(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux lists socket owners in /proc/net")
	}
	for _, tt := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		ln, err := net.Listen(tt.network, tt.addr)
		if err != nil {
			t.Logf("%s: %v (skipped)", tt.addr, err)
			continue
		}
		a := ln.Addr().(*net.TCPAddr)
		got := Describe(a.IP.String(), a.Port)
		ln.Close()
		if want := "uid " + strconv.Itoa(os.Getuid()); !strings.HasPrefix(got, want) {
			t.Errorf("Describe(%s) = %q, want %q...", a, got, want)
		}
	}
	if got := Describe("127.0.0.1", 1); got != "" {
		t.Errorf("a free port has holder %q", got)
	}
}

// TestConnUID finds the owner of the client end of a loopback connection.
func TestConnUID(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux lists socket owners in /proc/net")
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("%s: %v (skipped)", addr, err)
			continue
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		uid, ok := ConnUID(s.RemoteAddr().String(), s.LocalAddr().String())
		if !ok || uid != os.Getuid() {
			t.Errorf("%s: ConnUID = %d, %v; want %d", addr, uid, ok, os.Getuid())
		}
		if _, ok := ConnUID("127.0.0.1:1", s.LocalAddr().String()); ok {
			t.Errorf("%s: found a connection that does not exist", addr)
		}
		c.Close()
		s.Close()
		ln.Close()
	}
}
