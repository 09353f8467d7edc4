package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// LoginRequest is what a login (browser or device) is asked to do.
type LoginRequest struct {
	// Account names the account to store the login under; empty means the
	// identity the provider reports (email, else preferred_username, else
	// login, else subject).
	Account string
	// Scopes replace the provider's default scopes.
	Scopes []string
	// AddScopes asks for the account's granted scopes plus these.
	AddScopes []string
	// Prompt, when set, is the OIDC prompt parameter to send (consent,
	// login, select_account, none), replacing the one oauthctl would pick
	// and the provider entry's.
	Prompt string
}

// Prompts are the values LoginRequest.Prompt accepts (OIDC Core §3.1.2.1).
var Prompts = []string{"consent", "login", "select_account", "none"}

// LoginPlan is what the browser and the device login settle before they
// involve the user.
type LoginPlan struct {
	req   LoginRequest
	state keyring.StateStore
	// Target is the stored account a re-login or --add-scopes updates, or nil.
	Target *keyring.Account
	// Scopes are the scopes to request.
	Scopes []string
	// Client is the HTTP client for the provider.
	Client *http.Client
	// Provider has its endpoints resolved (discovery for issuer-only
	// entries) and Scopes set to the requested scopes.
	Provider *auth.Provider
	Metadata *auth.Metadata
	// Params are the extra authorization parameters for the browser
	// login (loginParams).
	Params map[string]string
	// ClientAuth is the client authentication that worked for the account
	// being logged in again, if known (for auth.ChooseClientAuth).
	ClientAuth auth.ClientAuth
}

// PlanLogin reads the account index for the account being updated, picks
// the scopes, and resolves the provider's endpoints. p comes from
// LoginProvider. Everything the save after the sign-in needs is checked
// here, before the user is involved (docs/security.md §3.3): the index and
// its directory (read), and the lock directory.
func (s *Service) PlanLogin(ctx context.Context, req LoginRequest, p *auth.Provider) (*LoginPlan, error) {
	state, err := s.state()
	if err != nil {
		return nil, err
	}
	ix, err := state.LoadIndex(ctx)
	if err != nil {
		return nil, err
	}
	paths, err := s.Paths()
	if err != nil {
		return nil, err
	}
	if err := paths.CheckLockDir(); err != nil {
		return nil, fmt.Errorf("%w; nothing was started", err)
	}
	target, err := loginTarget(req, ix, p)
	if err != nil {
		return nil, err
	}
	scopes := loginScopes(req, p, target)
	client := s.HTTPClient()
	rp, md, err := auth.ResolveEndpoints(ctx, client, p)
	if err != nil {
		return nil, err
	}
	rp.Scopes = scopes
	plan := &LoginPlan{req: req, state: state, Target: target, Scopes: scopes, Client: client, Provider: rp, Metadata: md,
		Params: loginParams(req, rp, scopes, target)}
	// The provider's default account tells which client authentication
	// this client needs, whoever signs in now.
	if cur := ix.Find(p.Name, ix.Defaults[p.Name]); target == nil && cur != nil {
		target = cur
	}
	if target != nil && target.ClientID == rp.ClientID && target.TokenURL == rp.TokenURL {
		plan.ClientAuth = auth.ClientAuth(target.ClientAuth)
	}
	return plan, nil
}

// CompleteLogin names the account and persists the tokens (SaveLogin): the
// last steps of both login flows. The caller reports the returned account
// and prints the warnings, which come in the order they arose, also when
// err is set.
func (s *Service) CompleteLogin(ctx context.Context, plan *LoginPlan, tok *auth.Token, ident *auth.Identity) (*keyring.Account, []Warning, error) {
	var warnings []Warning
	if ident.Note != "" {
		warnings = append(warnings, Warning{Kind: WarnIdentity, Msg: ident.Note})
	}
	account, err := chooseAccount(ctx, plan.req, plan.state, plan.Provider, plan.Target, ident)
	if err != nil {
		return nil, warnings, err
	}
	acct, ws, err := s.SaveLogin(ctx, plan.Provider, account, tok, ident)
	return acct, append(warnings, ws...), err
}

// AccountArgs is what names acct on a command line after "oauthctl token
// ": the provider, plus " --account NAME" unless acct is the provider's
// default (or the index cannot be read), so that a hint prints this
// account's token and not the default's.
func (s *Service) AccountArgs(ctx context.Context, acct *keyring.Account) string {
	if ix, err := s.openIndex(ctx); err == nil && ix.Defaults[acct.Provider] == acct.Account {
		return acct.Provider
	}
	return acct.Provider + " --account " + acct.Account
}

// LoginProvider returns the named provider after checking that it can be
// logged in to: the authorization code grant and a client ID. The warnings
// are the catalogue's (returned also with an error).
func (s *Service) LoginProvider(name string) (*auth.Provider, []Warning, error) {
	cat, err := s.Catalogue()
	if err != nil {
		return nil, nil, err
	}
	var warnings []Warning
	for _, w := range cat.Warnings {
		warnings = append(warnings, Warning{Kind: WarnConfig, Msg: w})
	}
	p, err := cat.Get(name)
	if err != nil {
		return nil, warnings, err
	}
	if p.Grant == auth.GrantClientCredentials {
		return nil, warnings, WithHint(&UsageError{Msg: fmt.Sprintf("%s uses the client_credentials grant: there is no user to sign in", p.Name)},
			"run: oauthctl token %s", p.Name)
	}
	if p.ClientID == "" {
		return nil, warnings, WithHint(&loginConfigError{fmt.Sprintf("no client ID for %s: set %s, or client_id under %s in %s",
			p.Name, auth.ClientIDEnv(p.Name), p.Name, s.ConfigPath())},
			"register an OAuth client with the provider first (see: oauthctl help client), then run: oauthctl client set %s", p.Name)
	}
	return p, warnings, nil
}

// LoginClientSecret returns the client secret from the environment or the
// keychain ("" for a public client). A provider that requires one and has
// none is a configuration error naming where the secret belongs. Reading
// the keychain here also fails fast, before the user signs in, when it is
// unavailable.
func (s *Service) LoginClientSecret(ctx context.Context, p *auth.Provider) (string, error) {
	secret, _, err := ResolveClientSecret(ctx, s.Getenv, s.Store, p)
	if err != nil {
		return "", err
	}
	if secret == "" && p.ClientSecretRequired {
		return "", WithHint(&loginConfigError{fmt.Sprintf("%s requires a client secret: set %s or run: oauthctl client set %s",
			p.Name, auth.ClientSecretEnv(p.Name), p.Name)},
			"the secret never goes on the command line or in providers.yaml")
	}
	return secret, nil
}

// loginConfigError is a client registration problem (exit 2).
type loginConfigError struct{ msg string }

func (e *loginConfigError) Error() string { return e.msg }

// Is makes loginConfigError match auth.ErrConfig.
func (e *loginConfigError) Is(target error) bool { return target == auth.ErrConfig }

// loginTarget returns the stored account this login updates, if known
// beforehand: --account's, else (for --add-scopes) the provider's default,
// else the default when it is the provider's only candidate for a re-login.
// --add-scopes needs one.
func loginTarget(req LoginRequest, ix *keyring.Index, p *auth.Provider) (*keyring.Account, error) {
	name := req.Account
	if name == "" {
		name = ix.Defaults[p.Name]
	}
	a := ix.Find(p.Name, name)
	if len(req.AddScopes) > 0 && a == nil {
		what := "no account of " + p.Name
		if req.Account != "" {
			what = fmt.Sprintf("no account %q of %s", req.Account, p.Name)
		}
		return nil, WithHint(fmt.Errorf("--add-scopes: %w: %s to add scopes to", keyring.ErrNotFound, what),
			"log in first: oauthctl login %s", p.Name)
	}
	if a == nil {
		return nil, nil
	}
	c := *a
	return &c, nil
}

// loginScopes is what to request: --scopes, else the provider's defaults;
// with --add-scopes the account's granted scopes plus the new ones.
func loginScopes(req LoginRequest, p *auth.Provider, target *keyring.Account) []string {
	var scopes []string
	switch {
	case len(req.AddScopes) > 0:
		scopes = append(slices.Clone(target.Scopes), req.AddScopes...)
	case len(req.Scopes) > 0:
		scopes = slices.Clone(req.Scopes)
	default:
		scopes = slices.Clone(p.Scopes)
	}
	out := scopes[:0]
	for _, s := range scopes {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// loginParams are the authorization parameters the situation calls for:
//   - prompt=consent when a refresh token is wanted (offline_access from an
//     OIDC provider, OIDC Core §11; Google's access_type=offline), unless
//     the login targets a known account (--account, or --add-scopes) that
//     already holds one for the same scopes: without consent the provider
//     issues none (OIDC) or only on first consent (Google). Without
//     --account nobody knows beforehand who will sign in: the provider's
//     default account holding a refresh token says nothing about the
//     person at the browser, who would then get none (issue 9). An account
//     that already holds one is not asked to consent again (docs/security.md
//     §6); if no new refresh token comes back, the stored one is kept
//     (saveLogin). A prompt in the provider's auth_params wins, and
//     --prompt wins over both.
//   - --add-scopes: the provider's incremental parameter (Google's
//     include_granted_scopes=true).
//   - login_hint with the identity of the account named by --account (or
//     updated by --add-scopes), so the provider preselects it.
func loginParams(req LoginRequest, p *auth.Provider, scopes []string, target *keyring.Account) map[string]string {
	params := map[string]string{}
	oidc := p.Issuer != "" && slices.Contains(scopes, "openid")
	wantsOffline := oidc && slices.Contains(scopes, "offline_access") || p.AuthParams["access_type"] == "offline"
	targeted := req.Account != "" || len(req.AddScopes) > 0
	hasRefresh := targeted && target != nil && target.Refreshable && !target.LoginRequired && SameScopeSet(scopes, target.Scopes)
	if _, set := p.AuthParams["prompt"]; wantsOffline && !hasRefresh && !set {
		params["prompt"] = "consent"
	}
	if req.Prompt != "" {
		params["prompt"] = req.Prompt
	}
	if len(req.AddScopes) > 0 && p.IncrementalParam != "" {
		params[p.IncrementalParam] = "true"
	}
	if target != nil && oidc && (req.Account != "" || len(req.AddScopes) > 0) && strings.Contains(target.Identity, "@") {
		params["login_hint"] = target.Identity
	}
	return params
}

// chooseAccount names the account to store the login under:
//   - --account, as given;
//   - --add-scopes: the account being updated, and only if the same
//     identity signed in (else nothing is stored);
//   - a stored account of the provider with the same subject (the stable
//     key: the email can change), so a re-login replaces it;
//   - the identity the provider reports: email, else preferred_username,
//     else login, else the subject ("default" when it said nothing usable).
func chooseAccount(ctx context.Context, req LoginRequest, state keyring.StateStore, p *auth.Provider, target *keyring.Account, ident *auth.Identity) (string, error) {
	if len(req.AddScopes) > 0 && target != nil {
		if target.Subject != "" && ident.Subject != "" && target.Subject != ident.Subject {
			return "", fmt.Errorf("%w: --add-scopes: signed in as %s, but account %q is %s; nothing was stored (sign in as that identity, or log in without --add-scopes)",
				auth.ErrLoginFailed, ident.Display(), target.Account, target.Identity)
		}
		return target.Account, nil
	}
	if req.Account != "" {
		return req.Account, nil
	}
	ix, err := state.LoadIndex(ctx) // re-read: the wait took minutes
	if err != nil {
		return "", err
	}
	if ident.Subject != "" {
		for _, a := range ix.ProviderAccounts(p.Name) {
			if a.Subject == ident.Subject {
				return a.Account, nil
			}
		}
	}
	name := strings.Map(func(r rune) rune {
		if r == '#' || r == ':' {
			return '_'
		}
		return r
	}, ident.Display())
	if keyring.ValidateAccount(name) != nil {
		name = "default"
	}
	return name, nil
}

// SaveLogin persists a successful login of account at provider p, for the
// browser login, the device login and a client_credentials mint alike. Its
// steps:
//  1. read the account's previous record (to keep or revoke its refresh
//     token); an unreadable one is simply replaced;
//  2. build the record: tokens, expiry, scopes (tok.Scopes, else p.Scopes:
//     callers pass a copy of the provider whose Scopes are the requested
//     ones, RFC 6749 §5.1); when the response carried no refresh token and
//     the previous record of the same identity, client and token endpoint
//     has a usable one for the same scopes, keep it (it is still valid);
//     one for other scopes is dropped with a warning (it would bring the
//     old scopes back at the next refresh) and revoked as in step 5;
//  3. write the keychain record (Store.Save); a failure is exit 6 and
//     nothing else is written;
//  4. write the index entry (keyring.UpdateIndex: issuer, token endpoint and
//     client ID the tokens are bound to, the resolved revocation and
//     userinfo endpoints (RecordEndpoints), scopes, expiries, subject,
//     identity); the first account of a provider becomes its default;
//  5. if a new refresh token replaced the previous one, revoke the previous
//     one best-effort (docs/security.md §6), unless the provider's revocation
//     ends the whole grant and the identity is the same (that would revoke
//     the new token too). A failure is a warning on stderr.
//
// ident may be nil (a machine client). Nothing is printed on success; the
// caller reports with printLoginSummary. Once step 3 starts, Ctrl-C no
// longer interrupts the writes, so the keychain and the index stay in step.
func (s *Service) SaveLogin(ctx context.Context, p *auth.Provider, account string, tok *auth.Token, ident *auth.Identity) (*keyring.Account, []Warning, error) {
	if ident == nil {
		ident = &auth.Identity{}
	}
	st, err := s.Store()
	if err != nil {
		return nil, nil, err
	}
	state, err := s.state()
	if err != nil {
		return nil, nil, err
	}
	var warnings []Warning
	key := keyring.Key{Provider: p.Name, Account: account}
	prev, err := st.Load(ctx, key)
	switch {
	case errors.Is(err, keyring.ErrNotFound), errors.Is(err, keyring.ErrCorrupt):
		prev = nil
	case err != nil:
		return nil, warnings, fmt.Errorf("reading the stored credentials of %s: %w", key, err)
	}
	ix, err := state.LoadIndex(ctx)
	if err != nil {
		return nil, warnings, err
	}
	prevAcct := ix.Find(p.Name, account)
	sameBinding := prevAcct != nil && prevAcct.TokenURL == p.TokenURL && prevAcct.ClientID == p.ClientID &&
		CheckRecordBinding(prevAcct, prev) == nil
	sameIdentity := sameBinding && (prevAcct.Subject == "" || ident.Subject == "" || prevAcct.Subject == ident.Subject)

	scopes := tok.Scopes
	if len(scopes) == 0 {
		scopes = slices.Clone(p.Scopes)
	}
	rec := &keyring.Record{
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, IDToken: tok.IDToken,
		TokenType: tok.TokenType, Expiry: tok.Expiry, RefreshExpiry: tok.RefreshExpiry, Scopes: scopes,
		IssuedAt: issuedAt(tok, s.Now()),
	}
	if rec.RefreshToken == "" && prev != nil && prev.RefreshToken != "" && sameIdentity && !prevAcct.LoginRequired {
		if SameScopeSet(p.Scopes, prevAcct.Scopes) {
			rec.RefreshToken, rec.RefreshExpiry = prev.RefreshToken, prev.RefreshExpiry
		} else {
			warnings = append(warnings, Warning{Kind: NoteRefreshNotKept, Msg: "the previous refresh token was for other scopes and is not kept"})
		}
	}
	issuer := ident.Issuer
	if issuer == "" {
		issuer = p.Issuer
	}
	acct := keyring.Account{
		Provider: p.Name, Account: account, Issuer: issuer, TokenURL: p.TokenURL, ClientID: p.ClientID,
		Scopes: scopes, Expiry: rec.Expiry, RefreshExpiry: rec.RefreshExpiry, Subject: ident.Subject,
		Identity: ident.Display(), Refreshable: rec.RefreshToken != "", Grant: p.Grant,
		ClientAuth: string(tok.ClientAuth), UpdatedAt: s.Now().UTC(),
	}
	RecordEndpoints(&acct, p)
	// The keychain record carries the binding too (docs/security.md §3.6).
	rec.Binding = keyring.BindingOf(&acct)
	if ctx.Err() != nil {
		return nil, warnings, ctx.Err()
	}
	wctx := context.WithoutCancel(ctx)
	s.invalidateCache(key) // before the store changes (see cache.go), and again below
	defer s.invalidateCache(key)
	if err := st.Save(wctx, key, rec); err != nil {
		if !errors.Is(err, keyring.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", keyring.ErrUnavailable, err)
		}
		return nil, warnings, fmt.Errorf("saving the tokens of %s: %w", key, err)
	}
	if err := state.UpdateIndex(wctx, func(ix *keyring.Index) error {
		ix.Put(acct)
		return nil
	}); err != nil {
		// Never leave keychain items that no index entry lists: no command
		// could show or remove them (docs/security.md §3.3). Put back what
		// was there before.
		undo := st.Delete(wctx, key)
		if prev != nil {
			undo = st.Save(wctx, key, prev)
		}
		if undo != nil {
			return nil, warnings, fmt.Errorf("updating the account index failed (%w), and so did undoing the keychain write (%v): run oauthctl logout %s --account %s",
				err, undo, p.Name, account)
		}
		return nil, warnings, fmt.Errorf("updating the account index failed; nothing was stored: %w", err)
	}
	replaced := prev != nil && prev.RefreshToken != "" && prev.RefreshToken != rec.RefreshToken && sameBinding
	if replaced && p.RevocationURL != "" && !(p.RevocationRevokesGrant && sameIdentity) {
		// The replaced token goes only to the revocation endpoint its own
		// login recorded (docs/security.md §3.6).
		if d := EndpointDiff(prevAcct, p, EndpointRevocation, p.RevocationURL); d != "" {
			warnings = append(warnings, Warning{Kind: WarnNotRevoked,
				Msg: fmt.Sprintf("the replaced refresh token of %s was not revoked: %s", key, auth.Sanitize(d, 300))})
		} else if w := s.revokeReplaced(wctx, p, key, prev.RefreshToken, tok.ClientAuth); w != nil {
			warnings = append(warnings, *w)
		}
	}
	return &acct, warnings, nil
}

// SameScopeSet reports whether the requested scopes are, as sets, those
// stored for an account: the scopes its refresh token was issued for. The
// stored ones are the granted ones as the provider echoed them, so a
// requested scope also matches its expanded form (scopeMatches).
func SameScopeSet(requested, stored []string) bool {
	for _, s := range requested {
		if !slices.ContainsFunc(stored, func(g string) bool { return ScopeMatches(s, g) }) {
			return false
		}
	}
	for _, g := range stored {
		if !slices.ContainsFunc(requested, func(s string) bool { return ScopeMatches(s, g) }) {
			return false
		}
	}
	return true
}

// ScopeMatches reports whether the granted scope g is the requested scope s
// as providers echo it: Google expands email and profile to
// .../auth/userinfo.email, Entra qualifies resource scopes with the
// resource URI.
func ScopeMatches(s, g string) bool {
	return g == s || strings.HasSuffix(g, "/"+s) || strings.HasSuffix(g, "/auth/userinfo."+s)
}

// revokeReplacedTimeout bounds the best-effort revocation after a re-login.
const revokeReplacedTimeout = 15 * time.Second

// revokeReplaced revokes a refresh token that a new login replaced, so it
// does not linger at the provider (Google keeps at most 100 per client and
// account). A failure is only a warning: the new login is already stored.
func (s *Service) revokeReplaced(ctx context.Context, p *auth.Provider, key keyring.Key, refreshToken string, method auth.ClientAuth) *Warning {
	ctx, cancel := context.WithTimeout(ctx, revokeReplacedTimeout)
	defer cancel()
	secret, _, err := ResolveClientSecret(ctx, s.Getenv, s.Store, p)
	if err == nil {
		err = auth.Revoke(ctx, s.HTTPClient(), p, auth.ClientCreds{ID: p.ClientID, Secret: secret, Auth: method}, refreshToken, auth.HintRefreshToken)
	}
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("could not revoke the replaced refresh token of %s: %s", key, auth.Sanitize(err.Error(), 200))
	if p.ManageURL != "" {
		msg += "; it stays valid until it expires or you remove the app at " + p.ManageURL
	}
	return &Warning{Kind: WarnNotRevoked, Msg: msg}
}
