package suggest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNames(t *testing.T) {
	t.Parallel()
	commands := []string{"client", "exec", "login", "logout", "providers", "status", "switch", "token", "whoami"}
	providers := []string{"github", "gitlab", "google", "microsoft"}
	tests := []struct {
		name       string
		typed      string
		candidates []string
		want       []string
	}{
		{"missing letter", "tokn", commands, []string{"token"}},
		{"swapped letters", "googel", providers, []string{"google"}},
		{"case", "GOOGLE2", providers, []string{"google"}},
		{"closest only within reach", "logn", commands, []string{"login"}},
		{"two close", "logot", commands, []string{"logout", "login"}},
		{"prefix", "prov", commands, []string{"providers"}},
		{"exact is no suggestion", "token", commands, nil},
		{"far", "kubernetes", commands, nil},
		{"short word not everything", "x", commands, nil},
		{"empty", "", commands, nil},
		{"gitlub", "gitlub", providers, []string{"github", "gitlab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Names(tt.typed, tt.candidates)); diff != "" {
				t.Errorf("Names(%q) (-want +got):\n%s", tt.typed, diff)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"tokn", "token", 1}, {"googel", "google", 1},
		{"kitten", "sitting", 3}, {"ab", "ba", 1},
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestHint: commands, help topics, providers and flags share one "did you
// mean" line.
func TestHint(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"token":     `did you mean "token"?`,
		"--account": `did you mean "--account"?`,
	} {
		if got := Hint(in); got != want {
			t.Errorf("Hint(%q) = %q, want %q", in, got, want)
		}
	}
}
