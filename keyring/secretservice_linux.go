package keyring

import (
	dbus "github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
)

// Secret Service names (https://specifications.freedesktop.org/secret-service/).
const (
	ssName            = "org.freedesktop.secrets"
	ssPath            = "/org/freedesktop/secrets"
	ssLoginCollection = "/org/freedesktop/secrets/collection/login"
)

// osBackend is the OS keychain backend of this platform.
func osBackend() Backend { return SecretServiceBackend{} }

// SecretServiceBackend is OSBackend with a shorter read: go-keyring's Get
// makes seven D-Bus round trips through the bus daemon (list the
// collections, unlock the collection, search, open a session, unlock the
// item, get the secret, close the session), which is most of the time
// `oauthctl token` takes. Get here waits for two: it asks whether the login
// collection is locked, searches it and opens a session concurrently, then
// gets the secret; the session is closed without waiting for the reply. It reads exactly the item
// go-keyring's Get would (the same attributes in the same "login"
// collection, the first match), over the same "plain" session. Anything
// unusual (no login collection, a locked item that needs the unlock prompt,
// any error) falls back to go-keyring's Get, so the behaviour and errors are
// go-keyring's. Set and Delete are go-keyring's.
type SecretServiceBackend struct{ OSBackend }

// Get implements Backend.
func (SecretServiceBackend) Get(service, user string) (string, error) {
	secret, found, ok := quickGet(service, user)
	switch {
	case ok && !found:
		return "", gokeyring.ErrNotFound
	case ok:
		return secret, nil
	}
	return gokeyring.Get(service, user)
}

// quickGet is the two-round-trip read. ok is false when the caller must fall
// back to go-keyring; found is false when the login collection holds no such
// item (go-keyring's ErrNotFound).
func quickGet(service, user string) (secret string, found, ok bool) {
	conn, err := dbus.SessionBus() // the connection go-keyring shares
	if err != nil {
		return "", false, false
	}
	svc := conn.Object(ssName, ssPath)
	coll := conn.Object(ssName, ssLoginCollection)
	// A locked collection hides its items from searches, so "no match"
	// means "not found" only in an unlocked one.
	locked := coll.Go("org.freedesktop.DBus.Properties.Get", 0, nil, "org.freedesktop.Secret.Collection", "Locked")
	search := coll.Go("org.freedesktop.Secret.Collection.SearchItems", 0, nil, map[string]string{"username": user, "service": service})
	open := svc.Go("org.freedesktop.Secret.Service.OpenSession", 0, nil, "plain", dbus.MakeVariant(""))
	<-locked.Done
	<-search.Done
	<-open.Done
	var output dbus.Variant
	var session dbus.ObjectPath
	if open.Store(&output, &session) != nil {
		return "", false, false
	}
	defer conn.Object(ssName, session).Go("org.freedesktop.Secret.Session.Close", dbus.FlagNoReplyExpected, nil)
	var isLocked dbus.Variant
	if locked.Store(&isLocked) != nil || isLocked.Value() != false {
		return "", false, false // go-keyring unlocks it (with a prompt)
	}
	var items []dbus.ObjectPath
	if search.Store(&items) != nil {
		return "", false, false
	}
	if len(items) == 0 {
		return "", false, true
	}
	var s struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}
	if conn.Object(ssName, items[0]).Call("org.freedesktop.Secret.Item.GetSecret", 0, session).Store(&s) != nil {
		return "", false, false // e.g. IsLocked: go-keyring unlocks (with a prompt)
	}
	return string(s.Value), true, true
}
