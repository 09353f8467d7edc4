// Package suggest finds the names a mistyped one probably meant, for
// "did you mean ...?" hints on unknown commands and provider names.
package suggest

import (
	"sort"
	"strings"
)

// maxDistance is how many single-character edits a typo may be from the
// name it meant: "tokn" and "googel" are 1 and 2 away.
const maxDistance = 2

// Hint is the one "did you mean" line every mistyped name gets (a command,
// a help topic, a provider, a flag): what to type instead, quoted, as in
// `did you mean "google"?`.
func Hint(name string) string {
	return `did you mean "` + name + `"?`
}

// Names returns the candidates that typed is probably a typo of: those
// within maxDistance edits (case-insensitive; a swap of two neighbouring
// letters counts as one edit), or that start with typed when it is at least
// two characters long. Closest first, then alphabetical; nil when none is
// close.
func Names(typed string, candidates []string) []string {
	t := strings.ToLower(typed)
	if t == "" {
		return nil
	}
	type hit struct {
		name string
		d    int
	}
	var hits []hit
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if lc == t {
			continue
		}
		d := distance(t, lc)
		switch {
		case d <= maxDistance && d < len([]rune(lc)):
		case len(t) >= 2 && strings.HasPrefix(lc, t):
			d = maxDistance + 1
		default:
			continue
		}
		hits = append(hits, hit{c, d})
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].d != hits[j].d {
			return hits[i].d < hits[j].d
		}
		return hits[i].name < hits[j].name
	})
	var out []string
	for _, h := range hits {
		out = append(out, h.name)
	}
	return out
}

// distance is the optimal string alignment distance between a and b: the
// Levenshtein distance where swapping two adjacent characters is one edit.
func distance(a, b string) int {
	s, t := []rune(a), []rune(b)
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}
