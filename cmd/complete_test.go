package cmd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCompletion drives cobra's hidden __complete command, as the shell
// scripts do, and checks the provider and account candidates (with their
// descriptions) and that files are never offered.
func TestCompletion(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "")
	e.seed(acAccount("google", "https://accounts.google.com", "personal"), nil)
	work := acAccount("google", "https://accounts.google.com", "work")
	work.Identity = "me@corp.example"
	e.seed(work, nil)
	e.seed(acAccount("github", "https://github.com", "octocat"), nil)
	const noFiles = ":4" // cobra.ShellCompDirectiveNoFileComp
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"switch: providers with accounts", []string{"switch", ""}, []string{"github\t1 account", "google\t2 accounts"}},
		{"switch: accounts of the provider", []string{"switch", "google", ""}, []string{"personal\tgoogle (default)", "work\tgoogle me@corp.example"}},
		{"switch: prefix", []string{"switch", "google", "w"}, []string{"work\tgoogle me@corp.example"}},
		{"switch: nothing after the account", []string{"switch", "google", "work", ""}, nil},
		{"logout: providers with accounts", []string{"logout", "g"}, []string{"github\t1 account", "google\t2 accounts"}},
		{"logout --account of the provider", []string{"logout", "github", "--account", ""}, []string{"octocat\tgithub (default)"}},
		{"whoami --account of any provider", []string{"whoami", "--account", ""},
			[]string{"octocat\tgithub (default)", "personal\tgoogle (default)", "work\tgoogle me@corp.example"}},
		{"status: providers", []string{"status", "gi"}, []string{"github\t1 account"}},
		{"client set: every provider", []string{"client", "set", ""},
			[]string{"github\t1 account", "gitlab\tbuilt-in", "google\t2 accounts", "microsoft\tbuilt-in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := e.run(append([]string{"__complete"}, tt.args...)...)
			lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
			if r.code != 0 || len(lines) == 0 || lines[len(lines)-1] != noFiles {
				t.Fatalf("exit %d, output %q: want candidates then %s", r.code, r.out, noFiles)
			}
			if diff := cmp.Diff(tt.want, lines[:len(lines)-1], cmpEmptyAsNil()); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
		})
	}

	// Without an index or a readable catalogue, completion stays silent.
	broken := newAcEnv(t, "providers: [")
	r := broken.run("__complete", "logout", "")
	if r.code != 0 || r.out != noFiles+"\n" {
		t.Errorf("broken config: exit %d out %q", r.code, r.out)
	}
}

func cmpEmptyAsNil() cmp.Option {
	return cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Comparer(func(_, _ []string) bool { return true }))
}
