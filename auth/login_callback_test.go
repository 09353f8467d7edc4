package auth

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		query   string
		want    *CallbackParams
		wantErr string
	}{
		{name: "code", query: "code=abc&state=s1&scope=openid+email&authuser=0",
			want: &CallbackParams{Code: "abc", State: "s1"}},
		{name: "error", query: "error=access_denied&error_description=User+said+no&error_uri=https%3A%2F%2Fx&state=s",
			want: &CallbackParams{Error: "access_denied", ErrorDescription: "User said no", ErrorURI: "https://x", State: "s"}},
		{name: "iss present", query: "code=c&state=s&iss=https%3A%2F%2Fissuer.example",
			want: &CallbackParams{Code: "c", State: "s", Iss: "https://issuer.example", HasIss: true}},
		{name: "iss empty", query: "code=c&state=s&iss=", want: &CallbackParams{Code: "c", State: "s", HasIss: true}},
		{name: "empty", query: "", want: &CallbackParams{}},
		{name: "duplicate code", query: "code=a&code=b&state=s", wantErr: `duplicate parameter "code"`},
		{name: "duplicate state", query: "code=a&state=s&state=s", wantErr: `duplicate parameter "state"`},
		{name: "duplicate error", query: "error=a&error=b", wantErr: `duplicate parameter "error"`},
		{name: "duplicate empty iss", query: "iss&iss=x", wantErr: `duplicate parameter "iss"`},
		{name: "bad escape", query: "code=%zz&state=s", wantErr: "not valid URL encoding"},
		{name: "semicolon", query: "code=a;state=s", wantErr: "not valid URL encoding"},
		{name: "too long", query: "code=" + strings.Repeat("a", maxCallbackQuery), wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCallback(tt.query)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseCallback checks the callback parser on arbitrary queries: it
// never panics, and what it accepts is exactly what the standard parser
// sees, each parameter at most once.
func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{"code=a&state=b", "error=access_denied&state=x&iss=https%3A%2F%2Fi",
		"code=a&code=b", "state=%zz", "iss", "a=1;b=2", "code=\x00&state=\xff", "", "&&&=&="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := ParseCallback(raw)
		if err != nil {
			if p != nil {
				t.Fatal("non-nil result with an error")
			}
			return
		}
		q, qerr := url.ParseQuery(raw)
		if qerr != nil {
			t.Fatalf("accepted %q that url.ParseQuery rejects: %v", raw, qerr)
		}
		for name, got := range map[string]string{"code": p.Code, "state": p.State, "iss": p.Iss, "error": p.Error,
			"error_description": p.ErrorDescription, "error_uri": p.ErrorURI} {
			vs := q[name]
			if len(vs) > 1 {
				t.Fatalf("accepted %d values of %s", len(vs), name)
			}
			if len(vs) == 1 && vs[0] != got || len(vs) == 0 && got != "" {
				t.Fatalf("%s = %q, want %q", name, got, vs)
			}
		}
		if _, has := q["iss"]; has != p.HasIss {
			t.Fatalf("HasIss = %v", p.HasIss)
		}
		if errors.Is(err, errDuplicateParam) {
			t.Fatal("unreachable")
		}
	})
}
