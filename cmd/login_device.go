package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/oauthctl/oauthctl/internal/human"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/session"
)

// loginDeviceRun signs in with the device authorization grant (RFC 8628):
// `oauthctl login PROVIDER --device`. It needs no browser and no listener on
// this machine, so it works over SSH, in containers and in CI: the user
// enters a short code on the provider's site from any device.
func loginDeviceRun(ctx context.Context, opts *LoginOptions) error {
	return deviceLogin(ctx, opts, nil)
}

// deviceLogin is loginDeviceRun with the wait between polls injectable:
// tests pass a sleeper that records the waits and returns at once, so that
// a provider's 5 s interval costs them nothing; nil waits for real. Its
// steps:
//  1. check the provider, --account and --timeout; read the client secret
//     (environment or keychain; a public client has none);
//  2. read the account index for the account a re-login or --add-scopes
//     updates, and pick the scopes as the browser login does;
//  3. discover the endpoints of an issuer-only provider; without a device
//     authorization endpoint, stop with a usage error (exit 2);
//  4. run the device flow (auth.DeviceFlow): show the code, the
//     verification address and the phishing warning on stderr, poll until
//     the user approves, denies, the code expires, --timeout passes or
//     Ctrl-C;
//  5. verify the ID token and find the identity (auth.ResolveIdentity, with
//     no nonce: the device grant has none);
//  6. name the account and persist it with session.SaveLogin, then report.
//
// Nothing is written to stdout.
func deviceLogin(ctx context.Context, opts *LoginOptions, sleep func(context.Context, time.Duration) error) error {
	svc := opts.Session
	p, err := loginProvider(opts, svc)
	if err != nil {
		return err
	}
	if err := checkLoginFlags(opts); err != nil {
		return err
	}
	if !p.HasDevice() && !p.NeedsDiscovery {
		return noDeviceError(p)
	}
	// Not LoginClientSecret: GitHub's device flow needs no secret although
	// its browser login does, and a provider that wants one says
	// invalid_client, which the flow reports naming the variable to set.
	secret, _, err := session.ResolveClientSecret(ctx, svc.Getenv, svc.Store, p)
	if err != nil {
		return err
	}
	plan, err := svc.PlanLogin(ctx, opts.request(), p)
	if err != nil {
		return err
	}
	rp, md, client, scopes := plan.Provider, plan.Metadata, plan.Client, plan.Scopes
	if !rp.HasDevice() {
		return noDeviceError(rp)
	}
	flow := &auth.DeviceFlow{
		Provider: rp, ClientSecret: secret, ClientAuth: auth.ChooseClientAuth(rp, secret, md, plan.ClientAuth), Scopes: scopes,
		HTTPClient: client, Timeout: opts.Timeout, Now: svc.Now, Sleep: sleep,
	}
	flowDone := make(chan struct{})
	tok, err := flow.Run(ctx, func(dc *auth.DeviceCode) error {
		offer := opts.IO.Interactive() && opts.Browser != nil
		printDeviceCode(opts.IO.ErrOut, opts.IO.ErrColorScheme(), rp, dc, opts.Timeout, offer)
		if offer {
			go offerBrowser(ctx, opts, dc, flowDone)
		}
		return nil
	})
	close(flowDone)
	if err != nil {
		return deviceLoginError(ctx, rp, err)
	}
	ident, err := auth.ResolveIdentity(ctx, client, auth.IdentityRequest{
		Provider: rp, ClientID: rp.ClientID, OIDC: rp.Issuer != "" && slices.Contains(scopes, "openid"),
		Metadata: md, Now: svc.Now,
	}, tok)
	if err != nil {
		return loginFinishError(ctx, rp, err)
	}
	if ctx.Err() != nil {
		return ctx.Err() // Ctrl-C after the approval: nothing is stored
	}
	return completeLogin(ctx, opts, svc, plan, tok, ident)
}

// noDeviceError is --device for a provider without a device authorization
// endpoint (exit 2).
func noDeviceError(p *auth.Provider) error {
	return withHint(usageErrorf("%s has no device authorization endpoint, so --device cannot be used (set device_auth_url in its providers.yaml entry if the provider offers the device flow)", p.Name),
		"sign in without a local browser instead: oauthctl login %s --no-browser", p.Name)
}

// deviceLoginError adds the hint that fits a failed device login. Ctrl-C
// stays context.Canceled (exit 130).
func deviceLoginError(ctx context.Context, p *auth.Provider, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, auth.ErrTimeout):
		return withHint(err, "run the command again, with a longer --timeout if you need more time")
	case errors.Is(err, auth.ErrUnavailable):
		return withHint(err, "the provider may have a temporary problem; try again in a moment")
	}
	return err
}

// printDeviceCode shows the user what to do, on stderr: the provider's
// verification address, the code, the link with the code filled in when the
// provider sends one, and the warning against remote phishing (RFC 8628
// §5.4): the code grants access to whoever's device started the flow, so an
// attacker who starts one and talks someone into entering the code gets
// their account. Naming the provider's own host helps the user spot a
// lookalike page.
//
// On a terminal the code is bold, and with offerBrowser the user is offered
// to open the address with Enter (see offerBrowser).
func printDeviceCode(w io.Writer, cs *iostreams.ColorScheme, p *auth.Provider, dc *auth.DeviceCode, timeout time.Duration, offerBrowser bool) {
	fmt.Fprintf(w, "To sign in to %s, open this address in a browser on any device (a phone works too):\n\n", p.Name)
	fmt.Fprintf(w, "  %s\n\nand enter the code:\n\n  %s\n\n", dc.VerificationURI, cs.Bold(dc.UserCode))
	if dc.VerificationURIComplete != "" {
		fmt.Fprintf(w, "Or open this link, which fills in the code for you:\n\n  %s\n\n", dc.VerificationURIComplete)
	}
	if dc.OtherHost() {
		// docs/security.md §4.5: the page is not on the provider's own
		// host. Some providers do this on purpose (Google's issuer is
		// accounts.google.com, its code page www.google.com), but the user
		// should know before typing a code there.
		fmt.Fprintf(w, "Note: this address is on %s, not on %s, the host of %s's issuer. Some providers use a separate\n", auth.Sanitize(dc.Host, 100), auth.Sanitize(dc.ProviderHost, 100), p.Name)
		fmt.Fprintf(w, "site for codes; if you do not know %s as %s's, press Ctrl-C.\n", auth.Sanitize(dc.Host, 100), p.Name)
	}
	fmt.Fprintf(w, "Enter the code only on %s, and only for a sign-in you started yourself in this terminal:\n", dc.Host)
	fmt.Fprintf(w, "whoever asks you to enter a code on another site, or sends you one, is trying to get into your account.\n")
	wait := timeout
	if dc.ExpiresIn > 0 && dc.ExpiresIn < wait {
		wait = dc.ExpiresIn
	}
	if offerBrowser {
		fmt.Fprintf(w, "Press Enter to open %s in your browser.\n", auth.Sanitize(dc.Host, 100))
	}
	fmt.Fprintf(w, "Waiting up to %s for you to approve (Ctrl-C to cancel)...\n", human.Duration(wait))
}

// offerBrowser waits for Enter on the terminal and then opens the
// verification address (the one with the code filled in when the provider
// sent it) in the browser, as gh does: on a machine with a browser the
// device flow need not mean typing an address. Nothing happens once the flow
// has ended (done), or when stdin closes.
func offerBrowser(ctx context.Context, opts *LoginOptions, dc *auth.DeviceCode, done <-chan struct{}) {
	if _, err := bufio.NewReader(opts.IO.In).ReadString('\n'); err != nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	target := dc.VerificationURI
	if dc.VerificationURIComplete != "" {
		target = dc.VerificationURIComplete
	}
	if err := opts.Browser(ctx, target); err != nil {
		select {
		case <-done:
		default:
			fmt.Fprintln(opts.IO.ErrOut, opts.IO.ErrColorScheme().Warning("could not open a browser: "+auth.Sanitize(err.Error(), 200)+"; open the address above yourself"))
		}
	}
}
