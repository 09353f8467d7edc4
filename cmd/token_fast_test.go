package cmd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/oauthctl/oauthctl/internal/iostreams"
)

// TestParseTokenFast checks Run's cobra-free parse of `token` against
// cobra's: every command line it accepts yields exactly the options cobra
// binds, and it declines every other one (cobra then parses it, with its
// errors).
func TestParseTokenFast(t *testing.T) {
	t.Parallel()
	accepted := []string{
		"",
		"google",
		"google --json",
		"google --header",
		"--header google",
		"google -a work@example.com",
		"google --account work@example.com",
		"google --account=work@example.com",
		"-a=me google",
		"google --min-ttl 10m",
		"google --min-ttl=90s --json -a x",
		"--min-ttl 0s",
		"help",
	}
	declined := []string{
		"--help", "-h", "google --force-refresh", "google --id-token", "google --json --header", "a b",
		"google --account", "google -a", "google --account -x", "google --min-ttl -1s", "google --min-ttl soon",
		"google --min-ttl=", "google --json=true", "google --json --json", "-a x -a y", "-- google", "google --bogus",
		"-ax google", "-",
	}
	cobraParse := func(t *testing.T, args []string) (*TokenOptions, int) {
		t.Helper()
		ios, _, _, _ := iostreams.Test()
		var got *TokenOptions
		c := NewCmdToken(&Factory{IO: ios}, func(o *TokenOptions) error { got = o; return nil })
		return got, acParse(c, args)
	}
	ignore := cmpopts.IgnoreFields(TokenOptions{}, "IO", "Factory")
	for _, line := range accepted {
		t.Run("accepted "+line, func(t *testing.T) {
			t.Parallel()
			args := strings.Fields(line)
			fast, ok := parseTokenFast(args)
			if !ok {
				t.Fatalf("parseTokenFast declined %q", line)
			}
			want, code := cobraParse(t, args)
			if code != 0 {
				t.Fatalf("cobra rejects %q (exit %d) but parseTokenFast accepts it", line, code)
			}
			if diff := cmp.Diff(want, fast, ignore); diff != "" {
				t.Errorf("options (-cobra +fast):\n%s", diff)
			}
		})
	}
	for _, line := range declined {
		t.Run("declined "+line, func(t *testing.T) {
			t.Parallel()
			if got, ok := parseTokenFast(strings.Fields(line)); ok {
				t.Errorf("parseTokenFast accepted %q: %+v", line, got)
			}
		})
	}
}
