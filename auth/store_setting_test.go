package auth_test

import (
	"testing"

	"github.com/oauthctl/oauthctl/auth"
)

// TestStoreSetting: the top-level `store:` key is read by a line scan on
// the hot path and by the full parse elsewhere; the parse accepts it only
// where the scan finds the same value, so both always pick the same store.
func TestStoreSetting(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		wantScan  string
		wantError string // from LoadCatalogue; "" = valid
	}{
		{name: "none", yaml: "providers: {}\n", wantScan: ""},
		{name: "vault", yaml: "store: vault\nproviders: {}\n", wantScan: "vault"},
		{name: "quoted with a comment", yaml: "# shared\nstore: \"vault\"  # all machines\n", wantScan: "vault"},
		{name: "keychain", yaml: "store: 'keychain'\n", wantScan: "keychain"},
		{name: "unknown value", yaml: "store: file\n", wantScan: "file", wantError: "u.yaml:1: store: must be keychain or vault"},
		{name: "value on the next line", yaml: "store:\n  vault\n", wantScan: "",
			wantError: "u.yaml:1: store: write it as `store: vault` at the start of a line of its own"},
		{name: "flow mapping", yaml: "{store: vault, providers: {}}\n", wantScan: "",
			wantError: "u.yaml:1: store: write it as `store: vault` at the start of a line of its own"},
		{name: "nested is not top-level", yaml: "providers:\n  x:\n    store: vault\n", wantScan: "",
			wantError: "u.yaml:3: store: unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := auth.StoreSetting([]byte(tt.yaml)); got != tt.wantScan {
				t.Errorf("StoreSetting = %q, want %q", got, tt.wantScan)
			}
			_, err := auth.LoadCatalogue(auth.ConfigSource{Path: "builtin"}, auth.ConfigSource{Path: "u.yaml", Data: []byte(tt.yaml)},
				func(string) string { return "" })
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tt.wantError == "" && got != "" || tt.wantError != "" && got[:min(len(got), len(tt.wantError))] != tt.wantError {
				t.Errorf("LoadCatalogue error = %q, want %q", got, tt.wantError)
			}
		})
	}
}
