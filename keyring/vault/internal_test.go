package vault

import "testing"

// TestEscapeSegment: names become single path segments that Vault, URLs
// and the policy glob take literally, and distinct names stay distinct.
func TestEscapeSegment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"work-gitlab", "work-gitlab"},
		{"a/b", "a~2Fb"},
		{"a~2Fb", "a~7E2Fb"},
		{"a%2Fb", "a~252Fb"},
		{".", "~2E"},
		{"..", "~2E."},
		{".hidden", "~2Ehidden"},
		{"Alice Example", "Alice~20Example"},
		{"a*b+c?", "a~2Ab~2Bc~3F"},
		{"日本", "~E6~97~A5~E6~9C~AC"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := escapeSegment(tt.in)
		if got != tt.want {
			t.Errorf("escapeSegment(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%q and %q both escape to %q", tt.in, other, got)
		}
		seen[got] = tt.in
	}
}
