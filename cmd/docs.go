package cmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// DocsOptions are the inputs of `oauthctl docs man`.
type DocsOptions struct {
	Root *cobra.Command
	Dir  string
	Now  func() time.Time
	// Out receives the list of files written (stderr).
	Print func(format string, args ...any)
}

// NewCmdDocs builds `oauthctl docs` and `docs man`.
//
// The man pages are written by a small troff generator here rather than
// github.com/spf13/cobra/doc: that package converts through go-md2man and
// blackfriday, whose package initialisation (an HTML-entity table) costs
// every oauthctl process, `token` included, about 214 KB and 760
// allocations at start-up — more than the whole program's other package
// initialisation (86 KB, 634 allocations), measured with GODEBUG=inittrace=1.
// Man pages are generated once per release; that cost is paid per token.
func NewCmdDocs(f *Factory, runF func(*DocsOptions) error) *cobra.Command {
	c := &cobra.Command{
		Use:   "docs COMMAND",
		Short: "Generate documentation: man pages",
		Long:  `Generate oauthctl's documentation from the same text as --help.`,
		Example: `  oauthctl docs man ./man
  man -l ./man/oauthctl-login.1`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	opts := &DocsOptions{Now: f.Now, Print: func(format string, args ...any) { fmt.Fprintf(f.IO.ErrOut, format, args...) }}
	man := &cobra.Command{
		Use:   "man DIR",
		Short: "Write a man page for every command into DIR",
		Long: `Write one man page (section 1) per command into DIR, which is created if
missing: oauthctl.1, oauthctl-login.1, oauthctl-providers-add.1, ... Install
them under a man directory (e.g. /usr/local/share/man/man1) or read one with
"man -l DIR/oauthctl.1".`,
		Example: `  oauthctl docs man ./man
  sudo oauthctl docs man /usr/local/share/man/man1`,
		Args: rangeArgs(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Root = c.Root()
			opts.Dir = args[0]
			if runF != nil {
				return runF(opts)
			}
			return docsManRun(opts)
		},
	}
	c.AddCommand(man)
	return c
}

func docsManRun(opts *DocsOptions) error {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", opts.Dir, err)
	}
	date := opts.Now().UTC().Format("2006-01-02")
	var n int
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if !c.IsAvailableCommand() && c.HasParent() || c.Name() == "help" || c.Name() == "__complete" {
			return nil
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		path := filepath.Join(opts.Dir, name)
		if err := os.WriteFile(path, manPage(c, date), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		n++
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(opts.Root); err != nil {
		return err
	}
	opts.Print("Wrote %d man pages to %s\n", n, opts.Dir)
	return nil
}

// manPage renders c's help as a man(7) page.
func manPage(c *cobra.Command, date string) []byte {
	var b bytes.Buffer
	title := strings.ToUpper(strings.ReplaceAll(c.CommandPath(), " ", "-"))
	fmt.Fprintf(&b, ".TH %s 1 %q \"oauthctl\" \"User Commands\"\n", title, date)
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", roff(strings.ReplaceAll(c.CommandPath(), " ", "-")), roff(c.Short))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n", roff(c.UseLine()))
	b.WriteString(".SH DESCRIPTION\n")
	long := c.Long
	if long == "" {
		long = c.Short
	}
	paragraphs(&b, long)
	if c.HasAvailableSubCommands() {
		b.WriteString(".SH COMMANDS\n")
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.Name() == "help" {
				continue
			}
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roff(sub.Name()), roff(sub.Short))
		}
	}
	flags := func(section string, fs *pflag.FlagSet) {
		if !fs.HasAvailableFlags() {
			return
		}
		fmt.Fprintf(&b, ".SH %s\n", section)
		fs.VisitAll(func(fl *pflag.Flag) {
			if fl.Hidden {
				return
			}
			name := "\\-\\-" + roff(fl.Name)
			if fl.Shorthand != "" {
				name = "\\-" + roff(fl.Shorthand) + ", " + name
			}
			varname, usage := pflag.UnquoteUsage(fl)
			if varname != "" {
				name += " " + roff(varname)
			}
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", name, roff(usage))
		})
	}
	flags("OPTIONS", c.NonInheritedFlags())
	flags("OPTIONS INHERITED FROM PARENT COMMANDS", c.InheritedFlags())
	if c.Example != "" {
		b.WriteString(".SH EXAMPLES\n.nf\n")
		for _, l := range strings.Split(strings.TrimRight(c.Example, "\n"), "\n") {
			b.WriteString(roffLine(strings.TrimPrefix(l, "  ")) + "\n")
		}
		b.WriteString(".fi\n")
	}
	if !c.HasParent() {
		b.WriteString(".SH ENVIRONMENT\n.nf\n")
		for _, l := range strings.Split(strings.TrimRight(environmentHelp, "\n"), "\n")[1:] {
			b.WriteString(roffLine(l) + "\n")
		}
		b.WriteString(".fi\n")
		b.WriteString(".SH EXIT STATUS\n")
		for _, e := range []struct {
			code int
			what string
		}{{ExitOK, "success"}, {ExitError, "unexpected failure"}, {ExitUsage, "usage or configuration error"},
			{ExitLogin, "login failed"}, {ExitSignIn, "sign-in required"}, {ExitUnavailable, "provider or network unavailable"},
			{ExitStorage, "secure storage unavailable"}, {ExitInterrupted, "interrupted"}} {
			fmt.Fprintf(&b, ".TP\n.B %d\n%s\n", e.code, e.what)
		}
	}
	var see []string
	if c.HasParent() {
		see = append(see, strings.ReplaceAll(c.Parent().CommandPath(), " ", "-")+"(1)")
	}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() && sub.Name() != "help" {
			see = append(see, strings.ReplaceAll(sub.CommandPath(), " ", "-")+"(1)")
		}
	}
	if len(see) > 0 {
		fmt.Fprintf(&b, ".SH SEE ALSO\n%s\n", roff(strings.Join(see, ", ")))
	}
	return b.Bytes()
}

// paragraphs writes text as roff paragraphs: blank lines separate them,
// indented lines are kept as they are.
func paragraphs(b *bytes.Buffer, text string) {
	for i, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		lines := strings.Split(p, "\n")
		indented := true
		for _, l := range lines {
			if !strings.HasPrefix(l, "  ") {
				indented = false
			}
		}
		if indented {
			b.WriteString(".nf\n")
		}
		for _, l := range lines {
			b.WriteString(roffLine(l) + "\n")
		}
		if indented {
			b.WriteString(".fi\n")
		}
	}
}

// roff escapes text for troff: backslashes and hyphens.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// roffLine escapes a whole line, also a leading . or ' that troff would
// take for a request.
func roffLine(s string) string {
	s = roff(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
