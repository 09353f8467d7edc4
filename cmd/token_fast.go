package cmd

import (
	"strings"
	"time"
)

// parseTokenFast parses the arguments after "token" when they are one of
// the plain forms scripts use: at most one PROVIDER, --account/-a NAME,
// --min-ttl DURATION, and one of --header or --json, each at most once. For
// those Run calls tokenRun without building a cobra command, which a
// process that prints a cached token would spend most of its own work on;
// the options are exactly those cobra would bind (TestParseTokenFast), and
// tokenRun cannot fail on arguments cobra would reject. Anything else
// (--help, --force-refresh, --id-token, "--", a repeated or unknown flag, a
// bad duration, a value that looks like a flag) returns ok=false, and cobra
// parses the command line as it always does, with its errors.
func parseTokenFast(args []string) (opts *TokenOptions, ok bool) {
	opts = &TokenOptions{MinTTL: DefaultMinTTL}
	seen := map[string]bool{}
	var positional int
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			if positional++; positional > 1 || a == "" {
				return nil, false
			}
			opts.Provider = a
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		switch name {
		case "-a":
			name = "--account"
		case "--account", "--min-ttl", "--header", "--json":
		default:
			return nil, false
		}
		if seen[name] {
			return nil, false
		}
		seen[name] = true
		switch name {
		case "--header", "--json":
			if hasValue {
				return nil, false
			}
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, false
			}
			i++
			value = args[i]
		}
		if strings.HasPrefix(value, "-") {
			return nil, false
		}
		switch name {
		case "--account":
			opts.Account = value
		case "--min-ttl":
			d, err := time.ParseDuration(value)
			if err != nil || d < 0 {
				return nil, false
			}
			opts.MinTTL = d
		}
	}
	if seen["--header"] && seen["--json"] {
		return nil, false
	}
	opts.Header, opts.JSON, opts.MinTTLSet = seen["--header"], seen["--json"], seen["--min-ttl"]
	return opts, true
}
