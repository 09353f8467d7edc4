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
