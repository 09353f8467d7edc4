// Package picker is the interactive list oauthctl shows when a person must
// choose (`oauthctl login` with no provider): arrow keys to move, typing to
// filter, Enter to choose, Esc or Ctrl-C to cancel. It runs only on a
// terminal; callers check that first and print the list otherwise.
//
// The terminal handling (raw mode, key decoding, redrawing in place) is
// Bubble Tea's (charm.land/bubbletea/v2). Its components library (bubbles)
// is not used: it links a clipboard package whose initialisation runs in
// every oauthctl process, `token` included (see README, Performance).
package picker

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
)

// ErrCancelled means the person pressed Esc or Ctrl-C.
var ErrCancelled = errors.New("cancelled")

// Item is one choice: Label is shown and filtered on, Detail is shown
// after it, dimmed.
type Item struct {
	Label  string
	Detail string
}

// maxVisible is how many items are shown at once; the list scrolls.
const maxVisible = 10

// Pick shows title and items on out, reads keys from in (both a terminal)
// and returns the index of the chosen item. env is the environment
// (TERM, NO_COLOR) for the terminal's capabilities.
func Pick(ctx context.Context, in io.Reader, out io.Writer, env []string, title string, items []Item) (int, error) {
	if len(items) == 0 {
		return -1, errors.New("nothing to choose from")
	}
	m := newModel(title, items)
	// Raw mode is set here, and Bubble Tea reads through stoppableInput
	// rather than the file (see there).
	if f, ok := in.(*os.File); ok && term.IsTerminal(f.Fd()) {
		state, err := term.MakeRaw(f.Fd())
		if err != nil {
			return -1, err
		}
		defer term.Restore(f.Fd(), state)
		if err := keepOutputProcessing(f); err != nil {
			return -1, err
		}
		si := newStoppableInput(f)
		defer si.stop()
		in = si
	}
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out),
		tea.WithEnvironment(env), tea.WithoutSignalHandler())
	final, err := p.Run()
	if err != nil {
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		return -1, err
	}
	fm := final.(*model)
	if fm.cancelled || fm.chosen < 0 {
		return -1, ErrCancelled
	}
	return fm.chosen, nil
}

// model is the picker's state.
type model struct {
	title     string
	items     []Item
	filter    []rune
	visible   []int // indexes into items that match the filter
	cursor    int   // index into visible
	offset    int   // first visible row shown
	chosen    int
	cancelled bool
	done      bool
}

func newModel(title string, items []Item) *model {
	m := &model{title: title, items: items, chosen: -1}
	m.refilter()
	return m
}

// refilter keeps the items whose label contains the filter (any case).
func (m *model) refilter() {
	f := strings.ToLower(string(m.filter))
	m.visible = m.visible[:0]
	for i, it := range m.items {
		if strings.Contains(strings.ToLower(it.Label), f) {
			m.visible = append(m.visible, i)
		}
	}
	m.cursor, m.offset = 0, 0
}

func (m *model) Init() tea.Cmd { return nil }

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	switch k.String() {
	case "ctrl+c", "esc":
		m.cancelled, m.done = true, true
		return m, tea.Quit
	case "enter":
		if len(m.visible) == 0 {
			return m, nil
		}
		m.chosen, m.done = m.visible[m.cursor], true
		return m, tea.Quit
	case "up", "ctrl+p", "shift+tab":
		if m.cursor > 0 {
			m.cursor--
		}
	case "down", "ctrl+n", "tab":
		if m.cursor < len(m.visible)-1 {
			m.cursor++
		}
	case "backspace", "ctrl+h":
		if len(m.filter) > 0 {
			m.filter = m.filter[:len(m.filter)-1]
			m.refilter()
		}
	case "ctrl+u":
		m.filter = m.filter[:0]
		m.refilter()
	default:
		if k.Text != "" && k.Mod&^tea.ModShift == 0 {
			m.filter = append(m.filter, []rune(k.Text)...)
			m.refilter()
		}
	}
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+maxVisible {
		m.offset = m.cursor - maxVisible + 1
	}
	return m, nil
}

func (m *model) View() tea.View {
	var b strings.Builder
	if m.done {
		// Leave one line behind: what was chosen.
		if !m.cancelled && m.chosen >= 0 {
			b.WriteString("\x1b[32m✓\x1b[0m " + m.title + ": " + m.items[m.chosen].Label + "\n")
		}
		return tea.NewView(b.String())
	}
	b.WriteString("\x1b[1m? " + m.title + "\x1b[0m")
	if len(m.filter) > 0 {
		b.WriteString("  " + string(m.filter))
	} else {
		b.WriteString("  \x1b[2m(type to filter, ↑↓ to move, Enter to choose, Esc to cancel)\x1b[0m")
	}
	b.WriteString("\n")
	if len(m.visible) == 0 {
		b.WriteString("  \x1b[2mno match\x1b[0m\n")
	}
	width := 0 // of the labels that have a detail after them
	for _, i := range m.visible {
		if m.items[i].Detail != "" {
			width = max(width, len([]rune(m.items[i].Label)))
		}
	}
	end := min(len(m.visible), m.offset+maxVisible)
	for row := m.offset; row < end; row++ {
		it := m.items[m.visible[row]]
		label := it.Label
		if it.Detail != "" {
			label += strings.Repeat(" ", max(0, width-len([]rune(it.Label))))
		}
		if row == m.cursor {
			b.WriteString("\x1b[36m> " + label + "\x1b[0m")
		} else {
			b.WriteString("  " + label)
		}
		if it.Detail != "" {
			b.WriteString("  \x1b[2m" + it.Detail + "\x1b[0m")
		}
		b.WriteString("\n")
	}
	if end < len(m.visible) {
		b.WriteString("  \x1b[2m… " + strconv.Itoa(len(m.visible)-end) + " more\x1b[0m\n")
	}
	return tea.NewView(b.String())
}
