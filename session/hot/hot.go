// Package hot is the part of `oauthctl token` that decides from stored
// state alone, with no provider, lock or catalogue: whether a stored access
// token may be handed out as it is, which warnings go with it, and the
// kernel keyring copy of it (keyring.KernelCache). session.Acquire's first
// step is built from these rules, and the small `oauthctl` front binary
// (cmd/oauthctl, through cmd/front) applies them before it would start the
// full program; they cannot drift apart because there is one copy.
//
// It must stay light: the front binary links it, and every package it
// imports adds start-up time to every `oauthctl token` (issue 14; a test
// lists what it may not import). So it imports keyring and small internal
// packages only, never auth.
package hot

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/oauthctl/oauthctl/internal/human"
	"github.com/oauthctl/oauthctl/internal/oauthval"
	"github.com/oauthctl/oauthctl/keyring"
)

// DefaultMinTTL is how long an access token must stay valid to be handed
// out when the caller does not say (the default of --min-ttl).
const DefaultMinTTL = 60 * time.Second

// RefreshExpiryWarning is how long before the refresh token runs out (when the
// provider said: Google, GitHub) every served token comes with a warning.
const RefreshExpiryWarning = 7 * 24 * time.Hour

// Options are the caller's demands on the access token.
type Options struct {
	// MinTTL is how long the token must stay valid.
	MinTTL time.Duration
	// MinTTLSet says the user gave MinTTL (--min-ttl); otherwise the
	// margin adapts to the token's lifetime (see Margin).
	MinTTLSet bool
}

// Margin is how long a token must stay valid to be handed out: MinTTL
// when the user gave it; else the smaller of MinTTL and half the lifetime
// the provider granted the token, when known. Comparisons with it are
// exact (59.6 s is less than 60 s), never on rounded values.
func (o Options) Margin(lifetime time.Duration) time.Duration {
	if o.MinTTLSet || lifetime <= 0 {
		return o.MinTTL
	}
	return min(o.MinTTL, lifetime/2)
}

// Lifetime is the access token lifetime the provider granted rec's token
// (expires_in), zero when unknown.
func Lifetime(rec *keyring.Record) time.Duration {
	if rec.IssuedAt.IsZero() || rec.Expiry.IsZero() || !rec.Expiry.After(rec.IssuedAt) {
		return 0
	}
	return rec.Expiry.Sub(rec.IssuedAt)
}

// Fresh reports whether rec's access token stays valid for the margin o
// asks at now. An access token of unknown expiry (the provider sent no
// expires_in, as GitHub OAuth apps with non-expiring tokens do) counts as
// fresh: refreshing it on every call would hit the provider and rotate the
// refresh token each time; a script that gets a 401 can ask for
// --force-refresh.
func Fresh(rec *keyring.Record, o Options, now time.Time) bool {
	if rec == nil || rec.AccessToken == "" {
		return false
	}
	return rec.Expiry.IsZero() || rec.Expiry.Sub(now) >= o.Margin(Lifetime(rec))
}

// SameClient reports whether a cached client_credentials token of acct was
// minted for the client ID the environment names now. It reads only the
// environment: the hot path does not parse providers.yaml, and under the
// lock the mint compares against the full configuration.
func SameClient(acct *keyring.Account, getenv func(string) string) bool {
	if acct.Grant != oauthval.GrantClientCredentials {
		return true
	}
	id := getenv(oauthval.ClientIDEnv(acct.Provider))
	return id == "" || id == acct.ClientID
}

// TokenHash is how a rejected access token is remembered in the index
// (Account.RejectedToken): a hex SHA-256, never the token itself.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Rejected reports whether rec's access token is the one a server rejected
// (`git-credential erase`): it is not handed out again, not even when a
// refresh fails. Hashing costs nothing when no token was rejected.
func Rejected(acct *keyring.Account, rec *keyring.Record) bool {
	return acct.RejectedToken != "" && rec != nil && rec.AccessToken != "" &&
		subtle.ConstantTimeCompare([]byte(TokenHash(rec.AccessToken)), []byte(acct.RejectedToken)) == 1
}

// Bound reports whether rec may be used for acct: it carries no endpoint
// binding (written before oauthctl recorded one), or the one it carries
// matches the index entry's issuer, token endpoint and client ID
// (docs/security.md, B.2). session.CheckRecordBinding explains a mismatch.
func Bound(acct *keyring.Account, rec *keyring.Record) bool {
	return rec == nil || rec.Binding.IsZero() || len(rec.Binding.Diff(keyring.BindingOf(acct))) == 0
}

// Servable reports whether rec's tokens may be handed to other programs:
// the access token, and the ID token when one is stored, are visible ASCII
// (docs/security.md §4.2).
func Servable(rec *keyring.Record) bool {
	return oauthval.WellFormedToken(rec.AccessToken) && (rec.IDToken == "" || oauthval.WellFormedToken(rec.IDToken))
}

// RefreshExpiring is the warning about a refresh token that runs out within
// RefreshExpiryWarning, as it accompanies a served token.
func RefreshExpiring(key keyring.Key, refreshExpiry, now time.Time) (Warning, bool) {
	if refreshExpiry.IsZero() || refreshExpiry.Sub(now) >= RefreshExpiryWarning {
		return Warning{}, false
	}
	return Warning{Kind: WarnRefreshExpiring, Msg: fmt.Sprintf("the refresh token of %s expires in %s; run: oauthctl login %s",
		key, human.Duration(refreshExpiry.Sub(now)), key.Provider)}, true
}

// Serve is session.Acquire's first step reduced to the case the front
// binary answers: it returns the warnings to print and true when rec, just
// read from the store for acct, may be printed as it is, without a lock
// or the network; false when the full program must decide (refresh, mint,
// an error to report, or a warning other than an expiring refresh token).
// It never accepts a record Acquire would not serve as it is
// (TestServeAgreesWithAcquire).
func Serve(acct *keyring.Account, rec *keyring.Record, o Options, now time.Time, getenv func(string) string) ([]Warning, bool) {
	if rec == nil || acct.LoginRequired || !Bound(acct, rec) || Rejected(acct, rec) ||
		!Fresh(rec, o, now) || !SameClient(acct, getenv) || !Servable(rec) {
		return nil, false
	}
	if rec.RefreshToken == "" {
		return nil, true
	}
	if w, ok := RefreshExpiring(acct.Key(), rec.RefreshExpiry, now); ok {
		return []Warning{w}, true
	}
	return nil, true
}
