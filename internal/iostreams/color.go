package iostreams

// ColorScheme styles text for one stream: colour and symbols only when the
// stream is a terminal, without colour under NO_COLOR, without either under
// TERM=dumb. Off a terminal every method returns its text unchanged (and
// the symbols are empty), so scripts and golden files see plain text.
type ColorScheme struct {
	color, symbols bool
}

// ErrColorScheme is the scheme for ErrOut, where messages go.
func (s *IOStreams) ErrColorScheme() *ColorScheme {
	return &ColorScheme{color: s.ErrTTY && !s.NoColor, symbols: s.ErrTTY && !s.Dumb}
}

// OutColorScheme is the scheme for Out (tables printed for a person).
func (s *IOStreams) OutColorScheme() *ColorScheme {
	return &ColorScheme{color: s.OutTTY && !s.NoColor, symbols: s.OutTTY && !s.Dumb}
}

// Enabled reports whether the scheme colours text.
func (c *ColorScheme) Enabled() bool { return c.color }

// Symbols reports whether the scheme draws ✓ ✗ !.
func (c *ColorScheme) Symbols() bool { return c.symbols }

func (c *ColorScheme) wrap(code, s string) string {
	if !c.color || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Bold makes s bold.
func (c *ColorScheme) Bold(s string) string { return c.wrap("1", s) }

// Dim makes s faint (secondary detail).
func (c *ColorScheme) Dim(s string) string { return c.wrap("2", s) }

// SuccessIcon is a green ✓ on a terminal, else "".
func (c *ColorScheme) SuccessIcon() string { return c.icon("✓", "32") }

// FailureIcon is a red ✗ on a terminal, else "".
func (c *ColorScheme) FailureIcon() string { return c.icon("✗", "31") }

// WarningIcon is a yellow ! on a terminal, else "".
func (c *ColorScheme) WarningIcon() string { return c.icon("!", "33") }

func (c *ColorScheme) icon(sym, code string) string {
	if !c.symbols {
		return ""
	}
	return c.wrap(code, sym)
}

// Success is "✓ msg" on a terminal, msg elsewhere.
func (c *ColorScheme) Success(msg string) string { return prefix(c.SuccessIcon(), msg) }

// Warning is "! msg" on a terminal, "warning: msg" elsewhere (the word
// carries what the symbol would in a log).
func (c *ColorScheme) Warning(msg string) string {
	if !c.symbols {
		return "warning: " + msg
	}
	return prefix(c.WarningIcon(), msg)
}

func prefix(icon, msg string) string {
	if icon == "" {
		return msg
	}
	return icon + " " + msg
}
