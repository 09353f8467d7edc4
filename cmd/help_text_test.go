package cmd

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelpNamesNoFixedConfigPath: no --help names ~/.config/oauthctl as
// where providers.yaml is, which is wrong when XDG_CONFIG_HOME or
// OAUTHCTL_CONFIG is set (the golden files could not show it: their text
// does not depend on the environment); "help environment" says where it is.
// And no usage section shows a command's subcommand twice ("oauthctl
// COMMAND [flags]" and "oauthctl [command]").
func TestHelpNamesNoFixedConfigPath(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "")
	e.setenv("XDG_CONFIG_HOME", t.TempDir())
	f, _, _ := e.factory("")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		args := append(strings.Fields(commandName(c)), "--help")
		if !c.HasParent() {
			args = []string{"--help"}
		}
		res := e.run(args...)
		if res.code != ExitOK {
			t.Errorf("%q: exit %d, stderr %q", args, res.code, res.errOut)
		}
		if strings.Contains(res.out, "~/.config/oauthctl") {
			t.Errorf("%q names the default providers.yaml path, not the one in use:\n%s", args, res.out)
		}
		usage, _, _ := strings.Cut(res.out[strings.Index(res.out, "Usage:")+1:], "\n\n")
		if strings.Contains(usage, " COMMAND") && strings.Contains(usage, "[command]") {
			t.Errorf("%q: the usage says the subcommand twice:\n%s", args, usage)
		}
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				walk(sub)
			}
		}
	}
	walk(NewCmdRoot(f))
}
