package cmd

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/keyring"
)

// Shell completion helpers, shared by every command that takes a provider
// or an account. They read the catalogue and the account index only (never
// the keychain or the network), stay silent on errors (a broken
// providers.yaml must not spill into the shell), and never offer files.
//
// Wiring:
//
//	c.ValidArgsFunction = completeProviderArg(f, true)             // `token [PROVIDER]`
//	c.ValidArgsFunction = completeProviderThenAccount(f)           // `switch PROVIDER ACCOUNT`
//	_ = c.RegisterFlagCompletionFunc("account", completeAccountFlag(f))

// completeProviderArg completes the first positional argument with provider
// names: with stored true, the providers that have stored accounts (for
// token, logout, whoami...), falling back to every known provider when none
// has; with stored false, every provider of the catalogue (for login,
// client set). Further arguments get no completion.
func completeProviderArg(f *Factory, stored bool) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return filterPrefix(providerCompletions(c.Context(), f, stored), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeProviderThenAccount completes PROVIDER ACCOUNT: a provider with
// stored accounts, then one of its accounts.
func completeProviderThenAccount(f *Factory) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return filterPrefix(providerCompletions(c.Context(), f, true), toComplete), cobra.ShellCompDirectiveNoFileComp
		case 1:
			return filterPrefix(accountCompletions(c.Context(), f, args[0]), toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeAccountFlag completes --account: the accounts of the provider
// named by the first positional argument, or of every provider when none is
// named yet.
func completeAccountFlag(f *Factory) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		provider := ""
		if len(args) > 0 {
			provider = args[0]
		}
		return filterPrefix(accountCompletions(c.Context(), f, provider), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// providerCompletions lists provider names, each described by its accounts
// or its source.
func providerCompletions(ctx context.Context, f *Factory, stored bool) []cobra.Completion {
	ix := completionIndex(ctx, f)
	counts := map[string]int{}
	if ix != nil {
		for _, a := range ix.Accounts {
			counts[a.Provider]++
		}
	}
	var out []cobra.Completion
	if stored && len(counts) > 0 {
		for name, n := range counts {
			out = append(out, cobra.CompletionWithDesc(name, accountCount(n)))
		}
		slices.Sort(out)
		return out
	}
	if f.Catalogue == nil {
		return nil
	}
	cat, err := f.Catalogue()
	if err != nil {
		return nil
	}
	for _, p := range cat.All() {
		desc := p.Source
		if n := counts[p.Name]; n > 0 {
			desc = accountCount(n)
		}
		out = append(out, cobra.CompletionWithDesc(p.Name, desc))
	}
	return out
}

// accountCompletions lists the stored accounts of provider (of every
// provider when it is ""), the default marked.
func accountCompletions(ctx context.Context, f *Factory, provider string) []cobra.Completion {
	ix := completionIndex(ctx, f)
	if ix == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []cobra.Completion
	for _, a := range ix.Accounts {
		if provider != "" && a.Provider != provider || seen[a.Account] {
			continue
		}
		seen[a.Account] = true
		desc := a.Provider
		if a.Identity != "" && a.Identity != a.Account {
			desc += " " + a.Identity
		}
		if ix.Defaults[a.Provider] == a.Account {
			desc += " (default)"
		}
		out = append(out, cobra.CompletionWithDesc(a.Account, desc))
	}
	slices.Sort(out)
	return out
}

func completionIndex(ctx context.Context, f *Factory) *keyring.Index {
	if f.Paths == nil && f.State == nil {
		return nil
	}
	ix, err := openIndex(ctx, f.State, f.Paths)
	if err != nil {
		return nil
	}
	return ix
}

// filterPrefix keeps the completions whose value starts with prefix.
func filterPrefix(in []cobra.Completion, prefix string) []cobra.Completion {
	out := in[:0:0]
	for _, c := range in {
		value, _, _ := strings.Cut(c, "\t")
		if strings.HasPrefix(value, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// accountCount describes how many accounts a provider has.
func accountCount(n int) string {
	if n == 1 {
		return "1 account"
	}
	return strconv.Itoa(n) + " accounts"
}
