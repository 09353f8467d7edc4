package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/picker"
)

// addProviderItem is the picker's last entry: it runs `providers add`.
const addProviderItem = "add a provider by issuer URL…"

// pickLoginProvider sets opts.Provider for `oauthctl login` without one: on
// a terminal from the picker (providers with a client ID first, then the
// others, then "add a provider by issuer URL…", which runs the `providers
// add` flow and signs in to the new entry); elsewhere it is a usage error
// that lists the providers (exit 2).
func pickLoginProvider(ctx context.Context, opts *LoginOptions) error {
	cat, err := opts.Session.Catalogue()
	if err != nil {
		return err
	}
	ps := cat.All()
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].ClientID != "" && ps[j].ClientID == "" })
	// A dumb terminal cannot redraw a list in place: it gets the list too.
	if !opts.IO.Interactive() || opts.IO.Dumb || opts.Pick == nil {
		var names []string
		for _, p := range ps {
			names = append(names, p.Name)
		}
		return withHint(usageErrorf("login needs a PROVIDER: %s", strings.Join(names, ", ")),
			"run: oauthctl login PROVIDER (there is no terminal to choose one on)")
	}
	var items []picker.Item
	for _, p := range ps {
		items = append(items, picker.Item{Label: p.Name, Detail: pickDetail(p)})
	}
	items = append(items, picker.Item{Label: addProviderItem})
	i, err := opts.Pick(ctx, "Sign in to", items)
	if errors.Is(err, picker.ErrCancelled) {
		return &cancelledError{msg: "cancelled: no provider chosen, nothing was done"}
	}
	if err != nil {
		return err
	}
	if i < len(ps) {
		opts.Provider = ps[i].Name
		return nil
	}
	svc := *opts.Session
	add := &ProvidersAddOptions{IO: opts.IO, Getenv: svc.Getenv, Now: svc.Now, HTTPClient: svc.HTTPClient,
		Catalogue: svc.Catalogue, Builtin: opts.Builtin, Paths: svc.Paths, State: svc.State, FromLogin: true}
	newCat, err := providersAdd(ctx, add)
	if err != nil {
		return err
	}
	opts.Provider = add.Name
	svc.Catalogue = func() (*auth.Catalogue, error) { return newCat, nil }
	opts.Session = &svc
	return nil
}

// pickDetail is what the picker shows after a provider's name: whether it
// can be signed in to now, and where it is.
func pickDetail(p *auth.Provider) string {
	where := p.Issuer
	if where == "" {
		if u, err := url.Parse(p.AuthURL); err == nil {
			where = u.Host
		}
	}
	where = strings.TrimPrefix(where, "https://")
	if p.ClientID == "" {
		return fmt.Sprintf("%s, no client ID yet", where)
	}
	return where
}
