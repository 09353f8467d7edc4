package session

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oauthctl/oauthctl/internal/clock"
	"github.com/oauthctl/oauthctl/internal/human"
	"github.com/oauthctl/oauthctl/session/hot"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// DefaultMinTTL is how long an access token must stay valid to be handed out
// without a refresh (`--min-ttl`). x/oauth2's 10 s is too short for a script
// that runs a few requests with the token (docs/security.md §4.2).
const DefaultMinTTL = hot.DefaultMinTTL

// ClientCredentialsAccount is the account name under which the token of a
// `grant: client_credentials` provider is cached: a machine client has no
// user, so there is one account per provider unless --account names another.
const ClientCredentialsAccount = "client"

// AcquireOptions tune Acquire; the zero value of each field means the
// default.
type AcquireOptions struct {
	// MinTTL is how long the token must stay valid to be handed out without
	// a refresh (0: any unexpired token; cmd passes DefaultMinTTL).
	MinTTL time.Duration
	// MinTTLSet says the user gave MinTTL (--min-ttl). Otherwise MinTTL is
	// a ceiling and the margin adapts to the token (see margin): the
	// smaller of MinTTL and half the lifetime the provider granted, so a
	// 60 s token is reused for 30 s instead of refreshed on every call;
	// and a token that lives shorter than MinTTL is no reason to warn.
	MinTTLSet bool
	// Force refreshes even a fresh token (`token --force-refresh`).
	Force bool
	// IDToken judges freshness by the ID token's exp claim instead of the
	// access token's expiry (`token --id-token`).
	IDToken bool
	// LockWait bounds the wait for the account's refresh lock
	// (keyring.DefaultLockWait).
	LockWait time.Duration
	// Retry bounds the retries of the token request.
	Retry auth.RetryPolicy
}

// Acquire returns the record of acct whose access token is valid for at
// least o.MinTTL, refreshing it first when it is not or when o.Force is set;
// for a `grant: client_credentials` account it mints a new token instead of
// refreshing. It never prompts and never opens a browser. The record is a
// copy: callers may print its tokens but must not store it.
//
// Callers: Token (for `token`, `exec`, `git-credential`, `kube-credential`),
// `status --check` and `whoami`. acct comes from ResolveAccount (or the
// index). The warnings are for
// stderr, without secrets (a token served despite a failed refresh, a
// refresh token about to run out).
//
// Errors are typed for cmd's ExitCode: nothing stored, unreadable
// credentials, a rejected refresh token or credentials bound to another
// endpoint (auth.ErrReauthRequired / keyring.ErrNotFound, with a
// "run: oauthctl login PROVIDER" hint), a rejected client or missing client
// secret (auth.ErrConfig), provider unreachable or the refresh lock held for
// too long (auth.ErrUnavailable, keyring.ErrLockTimeout), the keychain
// unavailable or the new tokens not persisted (keyring.ErrUnavailable).
//
// Steps:
//  1. one keychain read; if the token is fresh enough (and not forced),
//     return it: no lock, no catalogue, no network;
//  2. take the account's exclusive refresh lock (bounded wait), so that of
//     many concurrent processes exactly one talks to the provider
//     (docs/security.md §6);
//  3. under the lock re-read the index entry and the record: another process
//     may have refreshed meanwhile, then use its tokens; with a store shared
//     by several hosts (Vault, a keyring.Leaser) the re-read also takes the
//     entry's refresh lease when this host has to redeem, waiting while
//     another host holds it (see loadLocked);
//  4. load the catalogue and check that the stored credentials are bound to
//     the configured issuer, token endpoint and client ID (B.2);
//  5. refresh (or mint, for client_credentials), with bounded retries;
//  6. persist the new tokens (one retry; with a lease, one check-and-set
//     write that also clears it), then update the index, then unlock.
//
// The returned record is printed by the caller after the lock is released.
func (s *Service) Acquire(ctx context.Context, acct *keyring.Account, o AcquireOptions) (*keyring.Record, []Warning, error) {
	a := &acquirer{s: s, acct: *acct, o: o}
	rec, err := a.run(ctx)
	if err == nil {
		err = checkServable(rec, acct)
	}
	return rec, a.warnings, err
}

// checkServable refuses a record whose access token, or ID token when one
// is stored, is not visible ASCII: every front-end (token, exec, whoami,
// git-credential, kube-credential) hands these to other programs, and a
// token stored before oauthctl checked tokens on arrival could carry CR/LF
// or terminal escapes (docs/security.md §4.2). Tokens from the provider
// are checked on arrival by auth; this covers what the store holds.
func checkServable(rec *keyring.Record, acct *keyring.Account) error {
	if hot.Servable(rec) {
		return nil
	}
	return WithHint(fmt.Errorf("%w: the stored tokens of %s are malformed (characters outside visible ASCII); they were not used",
		auth.ErrReauthRequired, acct.Key()), "run: oauthctl login %s --account %s", acct.Provider, acct.Account)
}

// acquirer holds the state of one Acquire call.
type acquirer struct {
	s        *Service
	acct     keyring.Account
	o        AcquireOptions
	st       keyring.Store
	state    keyring.StateStore
	warnings []Warning
	// leaser is st when it coordinates refreshes across hosts (Vault);
	// lease is the refresh lease this process holds on the account's
	// entry, if any. With a leaser, a refresh token is redeemed only
	// under a lease.
	leaser keyring.Leaser
	lease  keyring.Lease
	// several is set under the lock when the provider has more than one
	// account in the index: login hints then name --account.
	several bool

	// Set by refresh for exchange: the provider's configuration, the token
	// endpoint the credentials are bound to and the client secret.
	p        *auth.Provider
	tokenURL string
	secret   string
}

func (a *acquirer) warnf(kind WarningKind, format string, args ...any) {
	a.warnings = append(a.warnings, Warning{Kind: kind, Msg: fmt.Sprintf(format, args...)})
}

func (a *acquirer) isCC() bool { return a.acct.Grant == auth.GrantClientCredentials }

// run is step 1, the hot path.
func (a *acquirer) run(ctx context.Context) (*keyring.Record, error) {
	st, err := a.s.Store()
	if err != nil {
		return nil, err
	}
	a.st = st
	rec, err := st.Load(ctx, a.acct.Key())
	switch {
	case err == nil:
		if err := CheckRecordBinding(&a.acct, rec); err != nil {
			return nil, err
		}
		if !a.force(rec) && a.fresh(rec) && a.sameClient() {
			a.warnServed(rec)
			return rec, nil
		}
	case errors.Is(err, keyring.ErrNotFound) && a.isCC():
		rec = nil
	case errors.Is(err, keyring.ErrNotFound), errors.Is(err, keyring.ErrCorrupt):
		return nil, a.storedError(err)
	default:
		return nil, err
	}
	return a.locked(ctx, rec)
}

// fresh reports whether rec can be handed out as it is. An access token of
// unknown expiry (the provider sent no expires_in, as GitHub OAuth apps with
// non-expiring tokens do) counts as fresh: refreshing it on every call would
// hit the provider and rotate the refresh token each time; a script that gets
// a 401 can ask for --force-refresh.
func (a *acquirer) fresh(rec *keyring.Record) bool {
	if rec == nil || rec.AccessToken == "" {
		return false
	}
	now := a.s.Now()
	if a.o.IDToken {
		if rec.IDToken == "" {
			return true // nothing a refresh could fix; the caller reports it
		}
		c, _ := peekIDToken(rec.IDToken)
		if c == nil || c.expiry().IsZero() {
			return true
		}
		exp := c.expiry()
		if !a.o.Force && a.idTokenOutlivedRefresh(rec, c) && now.Before(exp) {
			// A refresh since this ID token was issued brought no newer
			// one (OIDC Core §12.2 makes it optional): another refresh
			// would not either, so it is served while it lasts.
			return true
		}
		return exp.Sub(now) >= a.margin(c.lifetime())
	}
	return hot.Fresh(rec, a.o.hot(), now)
}

// margin is how long a token must stay valid to be handed out (hot.Options.Margin).
func (a *acquirer) margin(lifetime time.Duration) time.Duration { return a.o.hot().Margin(lifetime) }

// hot returns the demands of o that the hot path's rules take.
func (o AcquireOptions) hot() hot.Options {
	return hot.Options{MinTTL: o.MinTTL, MinTTLSet: o.MinTTLSet}
}

// idTokenOutlivedRefresh reports whether rec's access token was issued by a
// refresh after its ID token (iat): that refresh returned no new ID token.
func (a *acquirer) idTokenOutlivedRefresh(rec *keyring.Record, c *unverifiedClaims) bool {
	return c.Iat > 0 && !rec.IssuedAt.IsZero() && rec.IssuedAt.After(time.Unix(int64(c.Iat), 0).Add(time.Second))
}

// sameClient reports whether a cached client_credentials token was minted
// for the client ID the environment names now. It reads only the
// environment: the hot path does not parse providers.yaml, and under the
// lock mint compares against the full configuration.
func (a *acquirer) sameClient() bool {
	return hot.SameClient(&a.acct, a.s.Getenv)
}

// force reports whether rec must be replaced even if it is fresh: the
// caller asked (--force-refresh), or a server rejected its access token
// (rejected).
func (a *acquirer) force(rec *keyring.Record) bool {
	return a.o.Force || a.rejected(rec)
}

// rejected reports whether rec's access token is the one a server rejected
// (RejectToken, `git-credential erase`): it is not handed out again, not
// even when a refresh fails. Hashing costs nothing on the hot path when no
// token was rejected.
func (a *acquirer) rejected(rec *keyring.Record) bool {
	return hot.Rejected(&a.acct, rec)
}

// unexpired reports whether rec's access token still works at all (it may be
// below --min-ttl).
func (a *acquirer) unexpired(rec *keyring.Record) bool {
	return rec != nil && rec.AccessToken != "" && (rec.Expiry.IsZero() || a.s.Now().Before(rec.Expiry))
}

// warnIDTokenKept says that the ID token printed is the one from before the
// last refresh, which brought none.
func (a *acquirer) warnIDTokenKept(left time.Duration) {
	a.warnf(WarnIDTokenKept, "the provider did not return a new ID token on refresh; the stored one of %s expires in %s", a.acct.Key(), human.Duration(left))
}

// warnServed adds the warnings about a token that is handed out: the refresh
// token was rejected earlier, or runs out soon; in --id-token mode, an ID
// token a refresh did not replace that is under the margin.
func (a *acquirer) warnServed(rec *keyring.Record) {
	now := a.s.Now()
	if a.o.IDToken && rec.IDToken != "" {
		if c, ok := peekIDToken(rec.IDToken); ok && !c.expiry().IsZero() && a.idTokenOutlivedRefresh(rec, c) {
			if left := c.expiry().Sub(now); left < a.margin(c.lifetime()) {
				a.warnIDTokenKept(left)
			}
		}
	}
	switch {
	case a.acct.LoginRequired:
		a.warnf(WarnRefreshRejected, "the provider rejected the refresh token of %s; this access token expires in %s; run: oauthctl login %s",
			a.acct.Key(), a.left(rec), a.acct.Provider)
	case rec.RefreshToken != "":
		if w, ok := hot.RefreshExpiring(a.acct.Key(), rec.RefreshExpiry, now); ok {
			a.warnings = append(a.warnings, w)
		}
	}
}

// loginError is err (matching ErrReauthRequired, ErrNotFound or
// ErrCorrupt: exit 4) with the hint to log in again (naming --account when
// the provider has several accounts).
func (a *acquirer) loginError(err error) error {
	if a.isCC() {
		return err
	}
	return WithHint(err, "run: oauthctl login %s", a.loginArgs())
}

// storedError is the sign-in-required error for an account the index lists
// whose tokens the store has not got (ErrNotFound) or cannot read
// (ErrCorrupt). A missing entry reads as words, not as the store's key
// ("no stored tokens for account me@example.com of fake"), and its hint
// names the account, which is the one to sign in to again.
func (a *acquirer) storedError(err error) error {
	if !errors.Is(err, keyring.ErrNotFound) {
		return a.loginError(fmt.Errorf("%s: %w", a.acct.Key(), err))
	}
	return WithHint(&noStoredTokensError{Provider: a.acct.Provider, Account: a.acct.Account},
		"run: oauthctl login %s --account %s", a.acct.Provider, auth.Sanitize(a.acct.Account, 128))
}

// noStoredTokensError is a missing keychain (or Vault) entry of an account
// the index lists: exit 4, like keyring.ErrNotFound, which it matches.
type noStoredTokensError struct{ Provider, Account string }

func (e *noStoredTokensError) Error() string {
	return fmt.Sprintf("no stored tokens for account %s of %s", e.Account, e.Provider)
}

// Unwrap returns keyring.ErrNotFound.
func (e *noStoredTokensError) Unwrap() error { return keyring.ErrNotFound }

// loginArgs is what follows "oauthctl login " in a hint: the provider, plus
// " --account NAME" when the index (read under the lock) lists several
// accounts of the provider, so that the hint signs in to this one.
func (a *acquirer) loginArgs() string {
	if a.several && a.acct.Account != "" {
		return a.acct.Provider + " --account " + a.acct.Account
	}
	return a.acct.Provider
}

// locked runs steps 2-6 under the account's refresh lock. rec is what the
// hot path read (nil for a client_credentials account with nothing cached).
func (a *acquirer) locked(ctx context.Context, rec *keyring.Record) (*keyring.Record, error) {
	paths, err := a.s.Paths()
	if err != nil {
		return nil, err
	}
	if a.state, err = a.s.state(); err != nil {
		return nil, err
	}
	wait := a.o.LockWait
	if wait <= 0 {
		wait = keyring.DefaultLockWait
	}
	unlock, err := keyring.Lock(ctx, paths.AccountLockPath(a.acct.Key()), wait)
	if err != nil {
		return nil, err
	}
	defer unlock()

	ix, err := a.state.LoadIndex(ctx)
	if err != nil {
		return nil, err
	}
	a.several = len(ix.ProviderAccounts(a.acct.Provider)) > 1
	if cur := ix.Find(a.acct.Provider, a.acct.Account); cur != nil {
		a.acct = *cur
	} else if !a.isCC() {
		return nil, a.loginError(fmt.Errorf("%w: %s was logged out", keyring.ErrNotFound, a.acct.Key()))
	}
	cur, err := a.loadLocked(ctx, rec)
	if a.lease != nil {
		defer a.releaseLease(ctx)
	}
	switch {
	case err == nil:
		if err := CheckRecordBinding(&a.acct, cur); err != nil {
			return nil, err
		}
	case errors.Is(err, keyring.ErrNotFound) && a.isCC():
		cur = nil
	case errors.Is(err, keyring.ErrNotFound), errors.Is(err, keyring.ErrCorrupt):
		return nil, a.storedError(err)
	default:
		return nil, err
	}
	if a.isCC() {
		return a.mint(ctx, rec, cur)
	}
	if !a.force(cur) && a.fresh(cur) {
		a.warnServed(cur)
		return cur, nil
	}
	// Another process refreshed while this one waited for the lock: its
	// token is as new as this process's refresh would make it, so it is
	// used even under --force-refresh (which started before it), and even
	// when it is below --min-ttl (the provider issues no longer-lived ones;
	// refreshing again would only make every waiting process refresh in
	// turn, docs/security.md §6).
	if a.refreshedMeanwhile(rec, cur) {
		a.warnServed(cur)
		return cur, nil
	}
	return a.refresh(ctx, cur)
}

// loadLocked is the re-read of step 3. With a keyring.Leaser (Vault, shared
// by several hosts) it goes through Lease: that waits while another host
// holds the entry's refresh lease, and takes the lease only when this
// process may have to redeem or mint (needsLease); a host that waited
// usually finds the other's new tokens and takes none. A missing record is
// ErrNotFound, as from Load.
func (a *acquirer) loadLocked(ctx context.Context, rec *keyring.Record) (*keyring.Record, error) {
	key := a.acct.Key()
	l, ok := a.st.(keyring.Leaser)
	if !ok {
		return a.st.Load(ctx, key)
	}
	a.leaser = l
	lease, cur, err := l.Lease(ctx, key, func(cur *keyring.Record) bool { return a.needsLease(rec, cur) })
	if err != nil {
		return nil, err
	}
	a.lease = lease
	if cur == nil {
		return nil, keyring.ErrNotFound
	}
	return cur, nil
}

// needsLease reports whether, with cur as the store holds it, this process
// may go on to redeem the refresh token (or mint): the decisions locked and
// refresh make without the network, taken in advance.
func (a *acquirer) needsLease(rec, cur *keyring.Record) bool {
	if cur == nil {
		return a.isCC()
	}
	if !a.force(cur) && a.fresh(cur) || a.refreshedMeanwhile(rec, cur) {
		return false
	}
	return a.isCC() || !a.acct.LoginRequired && cur.RefreshToken != ""
}

// releaseLease clears a lease still held (after a failure; a successful
// refresh cleared it with its final write), even when ctx was cancelled:
// otherwise other hosts wait for its expiry.
func (a *acquirer) releaseLease(ctx context.Context) {
	_ = a.leaser.Release(context.WithoutCancel(ctx), a.lease)
}

// leased checks, before a token request, that this process may send it:
// without a leaser always; with one only while it holds a lease with
// enough time left (renewed if needed). It returns the context for the
// request, which ends with the lease.
func (a *acquirer) leased(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if a.leaser == nil {
		return ctx, func() {}, nil
	}
	if a.lease == nil {
		return nil, nil, fmt.Errorf("%w: no refresh lease is held on %s in the shared store", keyring.ErrLeaseLost, a.acct.Key())
	}
	if err := a.leaser.Ready(ctx, a.lease); err != nil {
		return nil, nil, err
	}
	rctx, cancel := context.WithDeadline(ctx, a.lease.Deadline())
	return rctx, cancel, nil
}

// refreshedMeanwhile reports whether cur, read under the lock, holds tokens
// that another process stored after this one read rec (before the lock; nil
// when nothing was stored, for a client_credentials account), and the token
// that would be printed has not expired yet. In --id-token mode that is the
// ID token, which must have changed; otherwise the access token.
func (a *acquirer) refreshedMeanwhile(rec, cur *keyring.Record) bool {
	if cur == nil {
		return false
	}
	if rec == nil {
		rec = &keyring.Record{}
	}
	if a.o.IDToken {
		if cur.IDToken == "" || cur.IDToken == rec.IDToken {
			return false
		}
		exp := idTokenExpiry(cur.IDToken)
		return exp.IsZero() || a.s.Now().Before(exp)
	}
	return cur.AccessToken != rec.AccessToken && a.unexpired(cur)
}

// refresh runs steps 4-6 for an authorization_code account.
func (a *acquirer) refresh(ctx context.Context, cur *keyring.Record) (*keyring.Record, error) {
	key := a.acct.Key()
	switch {
	case a.acct.LoginRequired:
		// Checked first: after the rejection the dead refresh token was
		// dropped, and "no refresh token is stored" would hide why.
		if a.unexpired(cur) && !a.force(cur) {
			a.warnf(WarnRefreshRejected, "the provider rejected the refresh token of %s; this access token expires in %s; run: oauthctl login %s",
				key, a.left(cur), a.loginArgs())
			return cur, nil
		}
		return nil, a.loginError(&ReauthError{Msg: fmt.Sprintf("the provider rejected the refresh token of %s earlier; sign in again", key)})
	case cur.RefreshToken == "":
		return a.cannotRefresh(cur, fmt.Errorf("%w: no refresh token is stored for %s", auth.ErrReauthRequired, key))
	}
	p, err := lookupProvider(a.s.Catalogue, a.acct.Provider)
	if err != nil {
		return nil, err
	}
	tokenURL, err := checkBinding(&a.acct, p)
	if err != nil {
		return nil, a.loginError(err)
	}
	secret, err := a.clientSecret(ctx, p)
	if err != nil {
		return nil, err
	}
	a.p, a.tokenURL, a.secret = p, tokenURL, secret
	return a.exchange(ctx, cur, false)
}

// exchange sends cur's refresh token, then persists and checks the answer.
// retried is set for the one retry refreshFailed makes with a refresh token
// another process stored meanwhile; a retry never retries again, so no
// refresh token is sent twice.
func (a *acquirer) exchange(ctx context.Context, cur *keyring.Record, retried bool) (*keyring.Record, error) {
	sent := cur.RefreshToken
	rctx, cancel, err := a.leased(ctx)
	if err != nil {
		return nil, fmt.Errorf("refreshing %s: %w", a.acct.Key(), err)
	}
	defer cancel()
	tok, err := auth.Refresh(rctx, a.s.HTTPClient(), auth.RefreshRequest{
		TokenURL:     a.tokenURL,
		ClientID:     a.acct.ClientID,
		ClientSecret: a.secret,
		ClientAuth:   auth.ChooseClientAuth(a.p, a.secret, nil, auth.ClientAuth(a.acct.ClientAuth)),
		RefreshToken: sent,
	}, a.s.Now, a.o.Retry)
	if err != nil {
		return a.refreshFailed(ctx, cur, sent, err, retried)
	}
	return a.refreshed(ctx, cur, tok)
}

// refreshed stores the answer to a successful refresh and decides what to
// hand out (docs/security.md §6). An ID token in the answer must pass
// checkRefreshedIDToken (OIDC Core §12.2) to be stored; one that fails is
// dropped, and the new access and refresh tokens, which are valid, are
// stored with the old ID token. Then:
//   - access-token mode hands out the new access token (a dropped ID token
//     is a warning);
//   - --id-token mode verifies a new ID token's signature too (see
//     verifyIDToken) and stores it only then; it never hands out an ID token
//     that was rejected, or one that is still under --min-ttl because the
//     provider sent none (OIDC Core §12.2 makes id_token optional on a
//     refresh): those are exit 4, since only a new login yields a new one.
func (a *acquirer) refreshed(ctx context.Context, cur *keyring.Record, tok *auth.Token) (*keyring.Record, error) {
	key := a.acct.Key()
	var rejected string // why a new ID token was dropped
	if tok.IDToken != "" {
		if err := checkRefreshedIDToken(tok.IDToken, cur.IDToken, &a.acct); err != nil {
			rejected = fmt.Sprintf("the provider returned an ID token on refresh of %s that %s; it was not stored", key, err.Error())
			t := *tok
			t.IDToken = ""
			tok = &t
		}
	}
	newID := tok.IDToken != ""
	next := mergeRefreshed(cur, tok)
	next.IssuedAt = issuedAt(tok, a.s.Now())
	if tok.ClientAuth != "" && string(tok.ClientAuth) != a.acct.ClientAuth {
		a.acct.ClientAuth = string(tok.ClientAuth) // remembered by updateIndex
	}
	// In --id-token mode the new ID token is printed, so its signature is
	// checked first; the rotated refresh token is persisted before that
	// network call, with the old ID token, so that it is never lost.
	verify := a.o.IDToken && newID
	first := next
	if verify {
		first = next.Clone()
		first.IDToken = cur.IDToken
	}
	if err := a.save(ctx, first, !verify); err != nil {
		return nil, err
	}
	a.updateIndex(ctx, first, nil)
	if !a.o.IDToken {
		if rejected != "" {
			a.warnf(WarnIDTokenRejected, "%s", rejected)
		}
		a.warnShort(next)
		return next, nil
	}
	if rejected != "" {
		return nil, a.loginError(fmt.Errorf("%w: %s", auth.ErrReauthRequired, rejected))
	}
	if verify {
		if err := a.verifyIDToken(ctx, next.IDToken); err != nil {
			return nil, err
		}
		if err := a.save(ctx, next, true); err != nil {
			return nil, err
		}
	}
	return a.checkServedIDToken(next, newID)
}

// checkServedIDToken decides, in --id-token mode after a refresh, whether
// rec's ID token may be printed: a new one (replaced) that is valid, with a
// warning when it is valid for less than --min-ttl; an old one only while it
// stays valid for --min-ttl (a --force-refresh the provider answered without
// an ID token), with a warning. A missing ID token is reported by the
// caller.
func (a *acquirer) checkServedIDToken(rec *keyring.Record, replaced bool) (*keyring.Record, error) {
	if rec.IDToken == "" {
		return rec, nil
	}
	key := a.acct.Key()
	exp := idTokenExpiry(rec.IDToken)
	left := exp.Sub(a.s.Now())
	switch {
	case !replaced && exp.IsZero():
		return nil, a.loginError(fmt.Errorf("%w: the provider did not return a new ID token on refresh, and the stored one of %s has no readable exp",
			auth.ErrReauthRequired, key))
	case !replaced && left <= 0:
		return nil, a.loginError(fmt.Errorf("%w: the provider did not return a new ID token on refresh, and the stored one of %s expired %s ago",
			auth.ErrReauthRequired, key, human.Duration(-left)))
	case !replaced:
		// The same rule as for access tokens: an unexpired ID token is
		// served, with a warning, when a refresh brought no newer one.
		a.warnIDTokenKept(left)
	case left <= 0:
		return nil, WithHint(fmt.Errorf("%w: the provider returned an ID token on refresh of %s that expired %s ago",
			auth.ErrReauthRequired, key, human.Duration(-left)),
			"check the system clock: it differs from the provider's by more than %s", human.Duration(auth.IDTokenLeeway))
	case left < a.o.MinTTL:
		a.warnf(WarnShortLived, "the provider issued an ID token valid for %s, less than --min-ttl %s", human.Duration(left), human.Duration(a.o.MinTTL))
	}
	return rec, nil
}

// verifyIDToken checks the signature and claims of an ID token from a
// refresh with auth.VerifyIDToken: keys from the provider's jwks_url, else
// from the issuer's discovery document; no nonce (OIDC Core §12.2: a
// refreshed ID token need not carry one). A token that fails is exit 4
// (with a clock hint when time is the reason); keys that cannot be fetched
// are exit 5.
func (a *acquirer) verifyIDToken(ctx context.Context, raw string) error {
	key := a.acct.Key()
	client := a.s.HTTPClient()
	jwks := a.p.JWKSURL
	if jwks == "" {
		md, err := auth.Discover(ctx, client, a.acct.Issuer)
		if err != nil {
			return fmt.Errorf("finding the keys to verify the new ID token of %s: %w", key, err)
		}
		jwks = md.JWKSURI
	}
	_, err := auth.VerifyIDToken(ctx, client, raw, auth.IDTokenCheck{
		Issuer: a.acct.Issuer, ClientID: a.acct.ClientID, JWKSURL: jwks, Now: a.s.Now,
	})
	var ite *auth.IDTokenError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ite):
		err = fmt.Errorf("%w: the provider returned an invalid ID token on refresh of %s (%s); it was not stored",
			auth.ErrReauthRequired, key, ite.Reason)
		if ite.Clock {
			return WithHint(err, "check the system clock: it differs from the provider's by more than %s", human.Duration(auth.IDTokenLeeway))
		}
		return a.loginError(err)
	}
	return fmt.Errorf("verifying the new ID token of %s: %w", key, err)
}

// cannotRefresh hands out an access token that has not expired yet, with a
// warning, when no refresh is possible; otherwise it returns err with the
// login hint.
func (a *acquirer) cannotRefresh(cur *keyring.Record, err error) (*keyring.Record, error) {
	if a.unexpired(cur) && !a.force(cur) {
		a.warnf(WarnNotRefreshed, "%s; this access token expires in %s; run: oauthctl login %s",
			err.Error(), a.left(cur), a.loginArgs())
		return cur, nil
	}
	return nil, a.loginError(err)
}

// refreshFailed handles a failed refresh (docs/security.md §5, §6):
//   - invalid_grant: if the stored refresh token changed meanwhile (a
//     process that does not share this lock, or a login, rotated it), use
//     the stored tokens when they are fresh enough, else refresh once with
//     the stored refresh token (still under the lock; unless this already
//     is that retry: no refresh token is sent twice); else mark the account
//     "login required" in the index, drop the dead refresh token
//     (compare-and-delete: it is still the one that was sent, and the lock
//     is held) and return exit 4;
//   - a rejected client: exit 2, naming the client secret variable;
//   - provider unavailable: serve the old access token with a warning while
//     it has not expired, else exit 5.
func (a *acquirer) refreshFailed(ctx context.Context, cur *keyring.Record, sent string, err error, retried bool) (*keyring.Record, error) {
	key := a.acct.Key()
	var rejected *auth.GrantRejectedError
	var badClient *auth.ClientAuthError
	switch {
	case errors.As(err, &rejected):
		stored, lerr := a.st.Load(ctx, key)
		if lerr == nil && stored.RefreshToken != sent && stored.RefreshToken != "" {
			switch {
			case a.fresh(stored):
				return stored, nil
			case !retried:
				return a.exchange(ctx, stored, true)
			}
			return nil, a.loginError(fmt.Errorf("refreshing %s: %w", key, err))
		}
		if lerr == nil {
			a.s.invalidateCache(key)
			dropped := stored.Clone()
			dropped.RefreshToken = ""
			_ = a.put(ctx, dropped, true) // best effort: the index flag below already stops a resend
		}
		a.updateIndex(ctx, nil, func(acc *keyring.Account) {
			acc.LoginRequired = true
			acc.Refreshable = false
		})
		return nil, a.loginError(fmt.Errorf("refreshing %s: %w", key, err))
	case errors.As(err, &badClient):
		return nil, a.clientError(err)
	case errors.Is(err, auth.ErrUnavailable) && a.unexpired(cur) && !a.force(cur):
		// Not after --force-refresh: its caller has just seen the current
		// token refused (README: "use --force-refresh after a 401").
		a.warnf(WarnNotRefreshed, "could not refresh the access token of %s (%s); using the current one, which expires in %s",
			key, err.Error(), a.left(cur))
		return cur, nil
	}
	return nil, fmt.Errorf("refreshing %s: %w", key, err)
}

// clientError explains a rejected client (exit 2) and names where the secret
// comes from.
func (a *acquirer) clientError(err error) error {
	env := auth.ClientSecretEnv(a.acct.Provider)
	var cae *auth.ClientAuthError
	if errors.As(err, &cae) && len(cae.Tried) == 1 && cae.Tried[0] != auth.ClientAuthNone &&
		(a.p == nil || a.p.TokenEndpointAuthMethod == "") {
		// The secret went one way only: it may be right, and the client
		// registered for the other method.
		return WithHint(fmt.Errorf("%w (check the client ID and the client secret in %s)", err, env),
			"if they are right, the client may expect the other method: set token_endpoint_auth_method for %s in providers.yaml", a.acct.Provider)
	}
	return WithHint(fmt.Errorf("%w (check the client ID and the client secret in %s)", err, env),
		"set %s, or run: oauthctl client set %s", env, a.acct.Provider)
}

// clientSecret returns the client secret: $OAUTHCTL_<NAME>_CLIENT_SECRET,
// else the keychain, which is read only when a secret may be there (it was
// stored with `client set`, the provider requires one, or the grant is
// client_credentials). A required secret that is nowhere is exit 2.
func (a *acquirer) clientSecret(ctx context.Context, p *auth.Provider) (string, error) {
	env := auth.ClientSecretEnv(p.Name)
	if s := a.s.Getenv(env); s != "" {
		return s, nil
	}
	required := p.ClientSecretRequired || p.Grant == auth.GrantClientCredentials
	if !required && !p.ClientSecretStored {
		return "", nil
	}
	// A secret stored for another client ID is not p's: as if none were stored.
	s, err := "", error(keyring.ErrNotFound)
	if p.ClientSecretOtherClientID == "" {
		s, err = a.st.ClientSecret(ctx, p.Name)
	}
	switch {
	case err == nil:
		return s, nil
	case errors.Is(err, keyring.ErrNotFound) && !required:
		return "", nil
	case errors.Is(err, keyring.ErrNotFound):
		return "", WithHint(fmt.Errorf("%w: %s needs a client secret: set %s", auth.ErrConfig, p.Name, env),
			"or store it in the keychain: oauthctl client set %s", p.Name)
	case !required:
		return "", nil
	}
	return "", err
}

// save persists rec, retrying once: the provider has already rotated the
// refresh token, so the new one is lost if it is not stored. A failure is
// exit 6, and nothing is printed. Under a lease the write is a
// check-and-set that keeps the lease, or clears it when final (see put).
func (a *acquirer) save(ctx context.Context, rec *keyring.Record, final bool) error {
	// Under the lock, before the store changes: from here on no process
	// prints the token this one replaces from the kernel cache.
	a.s.invalidateCache(a.acct.Key())
	err := a.put(ctx, rec, final)
	if err != nil && ctx.Err() == nil && !errors.Is(err, keyring.ErrLeaseLost) {
		if err := clock.Sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
		err = a.put(ctx, rec, final)
	}
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case !errors.Is(err, keyring.ErrUnavailable):
		err = &keyring.UnavailableError{Op: "write", Msg: err.Error(), Err: err}
	}
	return fmt.Errorf("storing the new tokens of %s: %w", a.acct.Key(), err)
}

// put writes rec: under a lease with one check-and-set write (clearing the
// lease when final), else with the store's Save.
func (a *acquirer) put(ctx context.Context, rec *keyring.Record, final bool) error {
	if a.lease != nil {
		return a.leaser.Commit(ctx, a.lease, rec, final)
	}
	return a.st.Save(ctx, a.acct.Key(), rec)
}

// updateIndex records rec's metadata (expiry, scopes, refreshability) in the
// index entry and clears "login required"; with rec nil it applies only fn.
// The index lock is taken inside the account lock, never the other way
// round. An entry that disappeared (a concurrent logout) is not recreated,
// except for client_credentials, whose entry is created here. A failure is
// a warning: the tokens are safe in the keychain.
func (a *acquirer) updateIndex(ctx context.Context, rec *keyring.Record, fn func(*keyring.Account)) {
	now := a.s.Now().UTC()
	err := a.state.UpdateIndex(ctx, func(ix *keyring.Index) error {
		acc := ix.Find(a.acct.Provider, a.acct.Account)
		if acc == nil {
			if !a.isCC() || rec == nil {
				return nil
			}
			ix.Put(a.acct)
			acc = ix.Find(a.acct.Provider, a.acct.Account)
		}
		if rec != nil {
			acc.Expiry = rec.Expiry
			acc.RefreshExpiry = rec.RefreshExpiry
			if rec.Scopes != nil {
				acc.Scopes = rec.Scopes
			}
			acc.Refreshable = rec.RefreshToken != "" || a.isCC()
			acc.LoginRequired = false
			if acc.RejectedToken != "" && acc.RejectedToken != TokenHash(rec.AccessToken) {
				acc.RejectedToken = "" // a new token: the rejection is dealt with
			}
			if a.acct.ClientAuth != "" {
				acc.ClientAuth = a.acct.ClientAuth
			}
			if a.isCC() {
				acc.Grant, acc.TokenURL, acc.ClientID, acc.Issuer = a.acct.Grant, a.acct.TokenURL, a.acct.ClientID, a.acct.Issuer
				acc.RevocationURL, acc.GrantRevocationURL, acc.UserinfoURL = a.acct.RevocationURL, a.acct.GrantRevocationURL, a.acct.UserinfoURL
			}
		}
		if fn != nil {
			fn(acc)
		}
		acc.UpdatedAt = now
		return nil
	})
	if err != nil {
		a.warnf(WarnIndex, "the tokens are stored, but the account index could not be updated: %s", err.Error())
	}
	// Again after the index changed: a process that read the old index
	// and store before save may have filled the cache since, and if the
	// index could not be updated its copy would still match.
	a.s.invalidateCache(a.acct.Key())
}

// warnShort warns, once per refresh, when the user asked with --min-ttl for
// more than even a brand-new token gives: every call will refresh. It
// compares the lifetime the provider granted (expires_in), exactly: a 60 s
// token meets --min-ttl 60s.
func (a *acquirer) warnShort(rec *keyring.Record) {
	if a.o.IDToken || !a.o.MinTTLSet {
		return
	}
	if life := hot.Lifetime(rec); life > 0 && life < a.o.MinTTL {
		a.warnf(WarnShortLived, "the provider issued an access token valid for %s, less than --min-ttl %s", human.Duration(life), human.Duration(a.o.MinTTL))
	}
}

// issuedAt is when tok was received: its expiry minus the lifetime the
// provider granted, or now when it did not say.
func issuedAt(tok *auth.Token, now time.Time) time.Time {
	if tok.Lifetime > 0 && !tok.Expiry.IsZero() {
		return tok.Expiry.Add(-tok.Lifetime)
	}
	return now.UTC()
}

// mint runs steps 4-6 for a client_credentials account: rec is what the hot
// path read, cur what the store holds now (either may be nil).
func (a *acquirer) mint(ctx context.Context, rec, cur *keyring.Record) (*keyring.Record, error) {
	p, err := lookupProvider(a.s.Catalogue, a.acct.Provider)
	if err != nil {
		return nil, err
	}
	if p.Grant != auth.GrantClientCredentials {
		return nil, WithHint(fmt.Errorf("%w: %s no longer uses the client_credentials grant", auth.ErrReauthRequired, p.Name),
			"run: oauthctl login %s", p.Name)
	}
	if p.ClientID == "" {
		return nil, fmt.Errorf("%w: %s has no client ID: set %s or client_id in providers.yaml", auth.ErrConfig, p.Name, auth.ClientIDEnv(p.Name))
	}
	if p.NeedsDiscovery {
		// An entry with just an issuer: reuse the token endpoint discovered
		// for this issuer before, else discover it. "Before" is what the
		// keychain record says (checked against the index by
		// CheckRecordBinding), never the index alone: the client secret
		// must not follow an edited accounts.json (docs/security.md §3.6).
		if cur != nil && cur.Binding.Issuer == p.Issuer && cur.Binding.TokenURL != "" {
			p.TokenURL = cur.Binding.TokenURL
		} else if p, _, err = auth.ResolveEndpoints(ctx, a.s.HTTPClient(), p); err != nil {
			return nil, err
		}
	}
	same := a.acct.ClientID == p.ClientID && a.acct.TokenURL == p.TokenURL
	switch {
	case same && !a.force(cur) && a.fresh(cur):
		return cur, nil
	case same && a.refreshedMeanwhile(rec, cur):
		// Another process minted while this one waited for the lock (see
		// locked), or, with nothing cached before, minted the first token.
		a.warnShort(cur)
		return cur, nil
	}
	secret, err := a.clientSecret(ctx, p)
	if err != nil {
		return nil, err
	}
	a.acct.Grant, a.acct.ClientID, a.acct.TokenURL, a.acct.Issuer = auth.GrantClientCredentials, p.ClientID, p.TokenURL, p.Issuer
	RecordEndpoints(&a.acct, p) // logout and whoami send tokens only to recorded endpoints
	mctx, cancel := ctx, context.CancelFunc(func() {})
	if a.lease != nil { // client_credentials tokens do not rotate: a lease only avoids duplicate mints
		if mctx, cancel, err = a.leased(ctx); err != nil {
			return nil, fmt.Errorf("minting a token for %s: %w", a.acct.Key(), err)
		}
	}
	defer cancel()
	tok, err := auth.ClientCredentials(mctx, a.s.HTTPClient(), auth.ClientCredentialsRequest{
		TokenURL:     p.TokenURL,
		ClientID:     p.ClientID,
		ClientSecret: secret,
		ClientAuth:   auth.ChooseClientAuth(p, secret, nil, auth.ClientAuth(a.acct.ClientAuth)),
		Scopes:       p.Scopes,
	}, a.s.Now, a.o.Retry)
	if err != nil {
		var badClient *auth.ClientAuthError
		switch {
		case errors.As(err, &badClient):
			return nil, a.clientError(err)
		case errors.Is(err, auth.ErrUnavailable) && same && a.unexpired(cur) && !a.force(cur):
			a.warnf(WarnNotRefreshed, "could not mint a new access token for %s (%s); using the current one, which expires in %s",
				a.acct.Key(), err.Error(), a.left(cur))
			return cur, nil
		}
		return nil, fmt.Errorf("minting a token for %s: %w", a.acct.Key(), err)
	}
	scopes := tok.Scopes
	if scopes == nil {
		scopes = p.Scopes
	}
	next := &keyring.Record{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry, Scopes: scopes,
		IssuedAt: issuedAt(tok, a.s.Now()), Binding: keyring.BindingOf(&a.acct)}
	if err := a.save(ctx, next, true); err != nil {
		return nil, err
	}
	a.acct.Scopes = scopes
	a.acct.ClientAuth = string(tok.ClientAuth)
	a.updateIndex(ctx, next, nil)
	a.warnShort(next)
	return next, nil
}

// mergeRefreshed builds the record to store after a refresh: the new access
// token, the rotated refresh token (x/oauth2 returns the one sent when the
// provider issued none), and the old ID token, scopes and refresh expiry when
// the response did not replace them. The caller has dropped a new ID token
// that failed checkRefreshedIDToken, and checks in --id-token mode that a
// kept old one is still fresh (checkServedIDToken).
func mergeRefreshed(old *keyring.Record, tok *auth.Token) *keyring.Record {
	next := &keyring.Record{
		AccessToken:   tok.AccessToken,
		RefreshToken:  tok.RefreshToken,
		IDToken:       tok.IDToken,
		TokenType:     tok.TokenType,
		Expiry:        tok.Expiry,
		RefreshExpiry: tok.RefreshExpiry,
		Scopes:        tok.Scopes,
	}
	if next.RefreshToken == "" {
		next.RefreshToken = old.RefreshToken
	}
	if next.IDToken == "" {
		next.IDToken = old.IDToken
	}
	if next.Scopes == nil {
		next.Scopes = old.Scopes
	}
	next.Binding = old.Binding // a refresh changes no endpoint
	if next.RefreshExpiry.IsZero() && next.RefreshToken == old.RefreshToken {
		next.RefreshExpiry = old.RefreshExpiry
	}
	return next
}

// checkBinding compares the stored account's issuer, token endpoint and
// client ID with the provider's current configuration and returns the token
// endpoint to send the refresh token to (docs/security.md §3.6): an edited
// providers.yaml must not redirect refresh tokens. For a provider configured
// by issuer only (discovery), the stored token endpoint, found by discovery
// at login, is used once the issuer matches. A provider whose configuration
// has no client ID (the variable was unset since) uses the stored one: it is
// the client the refresh token was issued to.
func checkBinding(acct *keyring.Account, p *auth.Provider) (string, error) {
	var diffs []string
	if !issuerMatches(p.Issuer, acct.Issuer) {
		diffs = append(diffs, fmt.Sprintf("issuer %q, now %q", acct.Issuer, p.Issuer))
	}
	tokenURL := p.TokenURL
	if p.NeedsDiscovery {
		tokenURL = acct.TokenURL
	} else if acct.TokenURL != p.TokenURL {
		diffs = append(diffs, fmt.Sprintf("token endpoint %s, now %s", acct.TokenURL, p.TokenURL))
	}
	if p.ClientID != "" && p.ClientID != acct.ClientID {
		diffs = append(diffs, fmt.Sprintf("client ID %s, now %s", acct.ClientID, p.ClientID))
	}
	if len(diffs) == 0 && (tokenURL == "" || auth.CheckEndpointURL(tokenURL) != nil) {
		diffs = append(diffs, fmt.Sprintf("token endpoint %q is not a valid https URL", tokenURL))
	}
	if len(diffs) > 0 {
		return "", fmt.Errorf("%w: the stored credentials of %s were issued for another configuration (%s); the refresh token was not sent",
			auth.ErrReauthRequired, acct.Key(), strings.Join(diffs, "; "))
	}
	return tokenURL, nil
}

// issuerMatches compares a configured issuer with the stored one exactly,
// except that Entra ID's multi-tenant template ".../{tenantid}/v2.0" matches
// the concrete issuer the login recorded from the ID token's tid.
func issuerMatches(configured, stored string) bool {
	if configured == stored {
		return true
	}
	pre, post, ok := strings.Cut(configured, "{tenantid}")
	if !ok || !strings.HasPrefix(stored, pre) || !strings.HasSuffix(stored, post) || len(stored) <= len(pre)+len(post) {
		return false
	}
	tid := stored[len(pre) : len(stored)-len(post)]
	return !strings.ContainsAny(tid, "/?#")
}

// IDTokenExpiry is the exp claim of an ID token that Acquire returned, read
// without verifying it (Acquire verified it, or the login did): what a
// front-end tells its caller about the token's lifetime (kube-credential's
// expirationTimestamp). Zero when unreadable.
func IDTokenExpiry(raw string) time.Time { return idTokenExpiry(raw) }

// idTokenExpiry reads the exp claim of a JWT without verifying it (the
// login verified it; here it only decides whether to refresh). Zero when
// unreadable.
func idTokenExpiry(raw string) time.Time {
	c, ok := peekIDToken(raw)
	if !ok {
		return time.Time{}
	}
	return c.expiry()
}

// unverifiedClaims are the claims of an ID token that acquire reads without
// verifying the signature.
type unverifiedClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"` // a string or an array of strings
	Azp string          `json:"azp"`
	Exp float64         `json:"exp"`
	Iat float64         `json:"iat"`
}

// lifetime is exp - iat, the ID token's granted lifetime; zero when unknown.
func (c *unverifiedClaims) lifetime() time.Duration {
	if c.Exp <= 0 || c.Iat <= 0 || c.Exp <= c.Iat {
		return 0
	}
	return min(time.Duration(min(c.Exp-c.Iat, float64(auth.MaxLifetime/time.Second)))*time.Second, auth.MaxLifetime)
}

func (c *unverifiedClaims) expiry() time.Time {
	if c.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(c.Exp), 0).UTC()
}

// audience returns the aud claim as a list.
func (c *unverifiedClaims) audience() []string {
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(c.Aud, &many)
	return many
}

// peekIDToken decodes the payload of a JWT without verifying it.
func peekIDToken(raw string) (*unverifiedClaims, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var c unverifiedClaims
	if json.Unmarshal(payload, &c) != nil {
		return nil, false
	}
	return &c, true
}

// checkRefreshedIDToken applies OIDC Core §12.2 to an ID token from a
// refresh response: its iss and sub must be those of the ID token it
// replaces (prev; the account's issuer and subject when there is none), its
// aud must contain the account's client ID (and azp, if present, be it),
// and it must have an exp. These checks read the unverified payload: the
// token came straight from the token endpoint the credentials are bound to,
// over TLS, which OIDC Core §3.1.3.7 (6) accepts in place of the signature
// check. The signature is checked as well (verifyIDToken) when the token is
// about to be printed (`token --id-token`), not when a plain `token`
// stores it, which would cost a JWKS request on every refresh. The error
// says what is wrong in a phrase ("has another subject"), without claim
// values.
func checkRefreshedIDToken(raw, prev string, acct *keyring.Account) error {
	c, ok := peekIDToken(raw)
	if !ok {
		return errors.New("is not a readable JWT")
	}
	wantIss, wantSub := acct.Issuer, acct.Subject
	if p, ok := peekIDToken(prev); ok {
		if p.Iss != "" {
			wantIss = p.Iss
		}
		if p.Sub != "" {
			wantSub = p.Sub
		}
	}
	switch {
	case c.Iss == "" || wantIss == "":
		return errors.New("has no issuer to compare with the original's")
	case c.Iss != wantIss:
		return errors.New("has another issuer than the original")
	case c.Sub == "":
		return errors.New("has no subject")
	case wantSub != "" && c.Sub != wantSub:
		return errors.New("has another subject than the original (another user)")
	case acct.ClientID == "" || !slices.Contains(c.audience(), acct.ClientID):
		return errors.New("is not issued to this client (aud)")
	case c.Azp != "" && c.Azp != acct.ClientID:
		return errors.New("is issued to another client (azp)")
	case c.expiry().IsZero():
		return errors.New("has no exp claim")
	}
	return nil
}

// left says how long rec's access token stays valid, for messages.
func (a *acquirer) left(rec *keyring.Record) string {
	if rec.Expiry.IsZero() {
		return "an unknown time"
	}
	return human.Duration(rec.Expiry.Sub(a.s.Now()))
}
