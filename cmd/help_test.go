package cmd

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestHelpGolden pins the --help text of every command, so a change to how a
// command presents itself is a reviewed diff (refresh with -update).
func TestHelpGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"root", []string{"--help"}},
		{"providers", []string{"providers", "--help"}},
		{"providers-add", []string{"providers", "add", "--help"}},
		{"providers-remove", []string{"providers", "remove", "--help"}},
		{"providers-show", []string{"providers", "show", "--help"}},
		{"help", []string{"help", "--help"}},
		{"docs", []string{"docs", "--help"}},
		{"docs-man", []string{"docs", "man", "--help"}},
		{"login", []string{"login", "--help"}},
		{"token", []string{"token", "--help"}},
		{"exec", []string{"exec", "--help"}},
		{"status", []string{"status", "--help"}},
		{"switch", []string{"switch", "--help"}},
		{"logout", []string{"logout", "--help"}},
		{"whoami", []string{"whoami", "--help"}},
		{"client", []string{"client", "--help"}},
		{"client-set", []string{"client", "set", "--help"}},
		{"client-unset", []string{"client", "unset", "--help"}},
		{"kube-credential", []string{"kube-credential", "--help"}},
		{"setup-kube", []string{"setup-kube", "--help"}},
		{"git-credential", []string{"git-credential", "--help"}},
		{"setup-git", []string{"setup-git", "--help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := newAcEnv(t, "").run(tt.args...)
			if res.code != ExitOK {
				t.Fatalf("exit code = %d, want 0; stderr:\n%s", res.code, res.errOut)
			}
			if res.errOut != "" {
				t.Errorf("stderr = %q, want empty", res.errOut)
			}
			if !strings.Contains(res.out, "Usage:") {
				t.Errorf("help has no Usage section:\n%s", res.out)
			}
			assertGolden(t, "help/"+tt.name+".golden", res.out)
		})
	}
}

// TestEveryCommandHasHelpGolden fails when a command is added without a
// golden help file in TestHelpGolden's table.
func TestEveryCommandHasHelpGolden(t *testing.T) {
	t.Parallel()
	f, _, _ := newAcEnv(t, "").factory("")
	root := NewCmdRoot(f)
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		res := newAcEnv(t, "").run(c.Name(), "--help")
		if res.code != ExitOK || !strings.Contains(res.out, c.UseLine()) {
			t.Errorf("%s --help: exit %d, output does not show its usage line %q", c.Name(), res.code, c.UseLine())
		}
		if !strings.Contains(helpGoldenNames, " "+c.Name()+" ") {
			t.Errorf("command %s has no entry in TestHelpGolden", c.Name())
		}
	}
}

const helpGoldenNames = " providers login token exec status switch logout whoami client kube-credential setup-kube git-credential setup-git docs "

// TestHelpConsistent: every command (subcommands included) has examples,
// names its arguments in one placeholder style (PROVIDER, ACCOUNT, not
// <provider>), and spells the account flag --account NAME.
func TestHelpConsistent(t *testing.T) {
	t.Parallel()
	f, _, _ := newAcEnv(t, "").factory("")
	root := NewCmdRoot(f)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "completion" || c.HasParent() && c.Parent().Name() == "completion" || c.Name() == "__complete" {
			return
		}
		if c.Example == "" {
			t.Errorf("%s has no examples", c.CommandPath())
		}
		if strings.ContainsAny(c.Use, "<>") {
			t.Errorf("%s: placeholder style in %q: use PROVIDER, ACCOUNT, COMMAND", c.CommandPath(), c.Use)
		}
		if fl := c.Flags().Lookup("account"); fl != nil {
			if name, _ := pflag.UnquoteUsage(fl); name != "NAME" || fl.Shorthand != "a" {
				t.Errorf("%s: --account is shown as %q (-%s), want -a, --account NAME", c.CommandPath(), name, fl.Shorthand)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
