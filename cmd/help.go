package cmd

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/internal/suggest"
)

// helpTopics are the help pages that are not commands.
var helpTopics = []string{"environment"}

// newHelpCommand replaces cobra's help command, which prints the root's
// help and exits 0 for an unknown topic (`oauthctl help tokn`): here that
// is a usage error with a "did you mean", and `help environment` lists the
// environment variables oauthctl reads.
func newHelpCommand(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND | environment]",
		Short: "Show help for a command, or the environment variables oauthctl reads",
		Long: `Show the help of COMMAND (the same as "oauthctl COMMAND --help"), or with
"environment" the environment variables oauthctl reads.`,
		Example: `  oauthctl help login
  oauthctl help client set
  oauthctl help environment`,
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var out []string
			if len(args) == 0 {
				out = append(out, helpTopics...)
			}
			target, _, err := c.Root().Find(args)
			if err == nil {
				for _, sub := range target.Commands() {
					if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
						out = append(out, sub.Name()+"\t"+sub.Short)
					}
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			if len(args) == 1 && args[0] == "environment" {
				_, err := fmt.Fprint(f.IO.Out, environmentHelp)
				return err
			}
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				parent := root
				if target != nil && err == nil {
					parent = target
				}
				name := args[len(args)-1]
				if len(rest) > 0 {
					name = rest[0]
				}
				return unknownHelpTopic(parent, name)
			}
			return target.Help()
		},
	}
}

// unknownHelpTopic is the usage error for `help NAME` when NAME is neither a
// command of parent nor a help topic.
func unknownHelpTopic(parent *cobra.Command, name string) error {
	var names []string
	for _, c := range parent.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	if !parent.HasParent() {
		names = append(names, helpTopics...)
	}
	path := strings.TrimPrefix(parent.CommandPath(), parent.Root().Name()) // "" or " client"
	what := strings.TrimSpace(path + " " + name)
	if s := suggest.Names(name, names); len(s) > 0 {
		return withHint(usageErrorf("no help for %q: no such command or topic", what),
			"%s", suggest.Hint(s[0]))
	}
	return usageErrorf("no help for %q: no such command or topic (see: oauthctl help)", what)
}

// environmentHelp is `oauthctl help environment`. TestEnvironmentHelpCoversCode
// checks that every variable the code reads is here, and nothing else.
const environmentHelp = `Environment variables oauthctl reads:

Configuration and state
  OAUTHCTL_CONFIG         your providers.yaml (default:
                          $XDG_CONFIG_HOME/oauthctl/providers.yaml)
  XDG_CONFIG_HOME         base of the default providers.yaml
                          (default: ~/.config)
  OAUTHCTL_STATE_DIR      where the account index lives (default:
                          $XDG_STATE_HOME/oauthctl)
  XDG_STATE_HOME          base of the default state directory
                          (default: ~/.local/state)
  HOME                    your home directory, for the defaults above
  OAUTHCTL_LOCK_DIR       the refresh-lock directory, an absolute path (default:
                          /tmp/oauthctl-UID); every process that may refresh
                          the same account must see the same value

Clients
  OAUTHCTL_<NAME>_CLIENT_ID
                          the OAuth client ID for provider NAME, overriding
                          providers.yaml and "oauthctl client set"; NAME is the
                          provider name upper-cased, with every character other
                          than A-Z and 0-9 replaced by _ (my-idp: MY_IDP)
  OAUTHCTL_<NAME>_CLIENT_SECRET
                          the client secret for provider NAME, overriding the
                          one "oauthctl client set" stored in the keychain

Shared store (Vault; see the README: Sharing a session across machines)
  OAUTHCTL_STORE          "vault" keeps tokens, accounts and client IDs in
                          HashiCorp Vault instead of the keychain (default:
                          "keychain", or store: in providers.yaml)
  VAULT_ADDR              Vault's address (default: https://127.0.0.1:8200)
  VAULT_TOKEN             the Vault token (default: the one in ~/.vault-token)
  VAULT_NAMESPACE         the Vault Enterprise namespace
  VAULT_CACERT            a PEM file of CAs for Vault's certificate
  VAULT_SKIP_VERIFY       skip TLS verification (only for a loopback address)
  OAUTHCTL_VAULT_MOUNT    the KV version 2 mount (default: secret)
  OAUTHCTL_VAULT_PREFIX   the folder in the mount (default: oauthctl)
  OAUTHCTL_VAULT_LEASE_TTL, OAUTHCTL_VAULT_LEASE_SKEW
                          the refresh lease's duration (default: 90s) and the
                          clock-skew margin before a dead host's lease is
                          taken over (default: 30s)

Browser, network and keychain
  BROWSER                 the program login opens the sign-in address with
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY
                          proxies for calls to providers (never used for the
                          loopback address the browser returns to)
  DBUS_SESSION_BUS_ADDRESS
                          the D-Bus session bus of the Secret Service keychain
                          (Linux)
  OAUTHCTL_KERNEL_CACHE   0 turns off the copy of each access token in the
                          Linux kernel keyring that "token" answers from
                          (cleared at expiry, refresh, login and logout)

kubectl
  KUBECONFIG              the kubeconfig files setup-kube chooses from
                          (default: ~/.kube/config)
  KUBERNETES_EXEC_INFO    set by kubectl for kube-credential: the
                          ExecCredential version to answer with and whether
                          kubectl runs in a terminal

Output
  NO_COLOR                when set to anything, no colour on a terminal
  TERM                    "dumb" turns off colour, symbols and the spinner
  OAUTHCTL_DEBUG          when set, an internal error also prints a Go stack

Set for the command by "oauthctl exec" (not read)
  OAUTHCTL_ACCESS_TOKEN   the access token (another name with --env)
`

// wantsVersion reports whether args ask the root for --version.
func wantsVersion(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--version" || a == "-v" {
			return true
		}
	}
	return false
}

// versionString is what --version prints after "oauthctl ": the version set
// at link time (-ldflags "-X main.version=..."), else the module version
// that `go install github.com/oauthctl/oauthctl@v1.2.3` records, else the
// VCS revision and commit time that `go build` in a git checkout records,
// always with the Go version. It is never a bare "dev".
func versionString(linked string, read func() (*debug.BuildInfo, bool)) string {
	if linked != "" && linked != "dev" {
		return linked
	}
	bi, ok := read()
	if !ok {
		return "devel (no build information)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	short := rev
	if len(short) > 12 {
		short = short[:12]
	}
	mv := bi.Main.Version
	var v string
	switch {
	case mv != "" && mv != "(devel)" && (short == "" || !strings.Contains(mv, short)):
		v = mv // a release: go install ...@v1.2.3
	case rev != "":
		// A pseudo-version says no more than the revision and time.
		v = "devel " + short
		var extra []string
		if when != "" {
			extra = append(extra, when)
		}
		if modified {
			extra = append(extra, "modified")
		}
		if len(extra) > 0 {
			v += " (" + strings.Join(extra, ", ") + ")"
		}
	default:
		v = "devel (built without version control information)"
	}
	if bi.GoVersion != "" {
		v += " " + bi.GoVersion
	}
	return v
}
