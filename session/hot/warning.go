package hot

// WarningKind classifies a Warning so that callers can act on it without
// matching its text.
type WarningKind int

const (
	// WarnOther is any other warning.
	WarnOther WarningKind = iota
	// WarnRefreshRejected: the provider rejected the refresh token; an
	// unexpired access token was handed out all the same.
	WarnRefreshRejected
	// WarnRefreshExpiring: the refresh token runs out soon.
	WarnRefreshExpiring
	// WarnNotRefreshed: no refresh (or mint) was possible, or it failed
	// with the provider unreachable; the current access token was handed
	// out.
	WarnNotRefreshed
	// WarnShortLived: the provider issued a token valid for less than the
	// requested minimum lifetime.
	WarnShortLived
	// WarnIDTokenRejected: the provider returned an ID token on refresh
	// that failed the checks; it was not stored.
	WarnIDTokenRejected
	// WarnIDTokenKept: the provider sent no new ID token on refresh; the
	// stored one was handed out.
	WarnIDTokenKept
	// WarnIndex: the tokens are stored (or deleted) but the account index
	// could not be updated.
	WarnIndex
	// WarnConfig: a remark about the provider configuration.
	WarnConfig
	// WarnIdentity: a remark about the identity a login found.
	WarnIdentity
	// WarnNotRevoked: a token that should have been revoked was not.
	WarnNotRevoked
	// NoteRefreshNotKept (a note, not a warning): a re-login dropped the
	// previous refresh token, which was for other scopes.
	NoteRefreshNotKept
)

// Note reports whether a warning of kind k is only informative ("note: "
// rather than "warning: ").
func (k WarningKind) Note() bool { return k == NoteRefreshNotKept }

// Warning is a one-line human message for stderr about an operation that
// succeeded. Msg is built from sanitized data and never holds a secret.
type Warning struct {
	Kind WarningKind
	Msg  string
}

// String returns the message.
func (w Warning) String() string { return w.Msg }
