package cmd

import "github.com/oauthctl/oauthctl/cmd/front"

// parseTokenFast parses the arguments after "token" with front.Parse, the
// cobra-free parse of the plain forms scripts use, into the options cobra
// would bind for them (TestParseTokenFast); ok=false leaves the command
// line to cobra.
func parseTokenFast(args []string) (opts *TokenOptions, ok bool) {
	req, ok := front.Parse(args)
	if !ok {
		return nil, false
	}
	return &TokenOptions{Provider: req.Provider, Account: req.Account, MinTTL: req.MinTTL, MinTTLSet: req.MinTTLSet,
		Header: req.Header, JSON: req.JSON}, true
}
