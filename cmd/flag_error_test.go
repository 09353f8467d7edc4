package cmd

import (
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/cmd/front"
)

// TestDurationSyntax: durationSyntax accepts exactly what
// time.ParseDuration parses, plus well-formed durations out of its range,
// which flagErrorMsg then calls too large rather than malformed.
func TestDurationSyntax(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		syntax     bool
		outOfRange bool
	}{
		{in: "0", syntax: true}, {in: "-0", syntax: true}, {in: "5s", syntax: true}, {in: "+5s", syntax: true},
		{in: "1h30m", syntax: true}, {in: "1.5h", syntax: true}, {in: ".5s", syntax: true}, {in: "5.s", syntax: true},
		{in: "300ms", syntax: true}, {in: "2us", syntax: true}, {in: "2µs", syntax: true}, {in: "2μs", syntax: true},
		{in: "2562047h", syntax: true},
		{in: "99999999h", syntax: true, outOfRange: true}, {in: "-99999999h", syntax: true, outOfRange: true},
		{in: "2562048h", syntax: true, outOfRange: true}, {in: "99999999999999999999ns", syntax: true, outOfRange: true},
		{in: ""}, {in: "5"}, {in: " 5s"}, {in: "5s "}, {in: "5 s"}, {in: "s"}, {in: "."}, {in: ".s"}, {in: "5d"},
		{in: "1h5"}, {in: "--5s"}, {in: "5S"}, {in: "soon"}, {in: "-"}, {in: "+"}, {in: "5s\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := durationSyntax(tt.in); got != tt.syntax {
				t.Errorf("durationSyntax(%q) = %v, want %v", tt.in, got, tt.syntax)
			}
			_, err := time.ParseDuration(tt.in)
			if parses := err == nil; parses != (tt.syntax && !tt.outOfRange) {
				t.Errorf("time.ParseDuration(%q) error = %v: the table is wrong", tt.in, err)
			}
		})
	}
}

// TestParseDeclinesBadDurations: the cobra-free parse of plain `token`
// lines (front.Parse, parseTokenFast) declines the durations cobra rejects
// with the messages above, so the full parser reports them.
func TestParseDeclinesBadDurations(t *testing.T) {
	t.Parallel()
	for _, v := range []string{" 5s", "5s ", "5s\t", "99999999h", "2562048h", "-99999999h"} {
		for _, args := range [][]string{{"x", "--min-ttl", v}, {"x", "--min-ttl=" + v}} {
			if _, ok := front.Parse(args); ok {
				t.Errorf("front.Parse accepted %q", args)
			}
			if _, ok := parseTokenFast(args); ok {
				t.Errorf("parseTokenFast accepted %q", args)
			}
		}
	}
}
