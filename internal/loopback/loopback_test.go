package loopback

import "testing"

func TestIsHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		host string
		want bool
	}{
		{"localhost", "localhost", true},
		{"upper case", "LOCALHOST", true},
		{"mixed case", "LocalHost", true},
		{"absolute name", "LOCALHOST.", false},
		{"IPv4 loopback", "127.0.0.1", true},
		{"rest of 127/8", "127.0.0.2", true},
		{"top of 127/8", "127.255.255.254", true},
		{"IPv6 loopback", "::1", true},
		{"IPv6 loopback, bracketed", "[::1]", true},
		{"IPv6 loopback, long form", "0:0:0:0:0:0:0:1", true},
		{"IPv4-mapped IPv6 loopback", "::ffff:127.0.0.1", true},
		{"IPv4-mapped IPv6 loopback, bracketed", "[::ffff:127.0.0.1]", true},
		{"IPv4-mapped IPv6, not loopback", "::ffff:10.0.0.1", false},
		{"IPv4 in brackets", "[127.0.0.1]", false},
		{"unclosed bracket", "[::1", false},
		{"name in brackets", "[localhost]", false},
		{"with a port", "127.0.0.1:8080", false},
		{"bracketed with a port", "[::1]:8080", false},
		{"with a zone", "::1%lo", false},
		{"unspecified IPv4", "0.0.0.0", false},
		{"unspecified IPv6", "::", false},
		{"name under localhost", "a.localhost", false},
		{"localhost as a label", "localhost.example.com", false},
		{"look-alike", "localhost-example.com", false},
		{"private address", "10.0.0.1", false},
		{"public name", "example.com", false},
		{"short IPv4 form", "127.1", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsHost(tt.host); got != tt.want {
				t.Errorf("IsHost(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}
