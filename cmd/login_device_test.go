package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// deviceSleeper stands in for the wait between polls and the clock: it
// records each wait, moves its clock (which starts at the real time, so
// that ID tokens are judged sanely) and returns at once, after running hook
// (if any) with the wait's number.
type deviceSleeper struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	hook   func(ctx context.Context, n int) error
}

func newDeviceSleeper(hook func(ctx context.Context, n int) error) *deviceSleeper {
	return &deviceSleeper{now: time.Now(), hook: hook}
}

func (s *deviceSleeper) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *deviceSleeper) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.sleeps = append(s.sleeps, d)
	s.now = s.now.Add(d)
	n := len(s.sleeps)
	s.mu.Unlock()
	if s.hook != nil {
		if err := s.hook(ctx, n); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *deviceSleeper) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.sleeps...)
}

func seconds(s ...int) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v) * time.Second
	}
	return out
}

// deviceLoginOptions parses argv (without "login") with NewCmdLogin and
// returns the options the command would run with.
func deviceLoginOptions(t *testing.T, f *Factory, args ...string) *LoginOptions {
	t.Helper()
	var got *LoginOptions
	c := NewCmdLogin(f, func(o *LoginOptions) error { got = o; return nil })
	c.SetArgs(args)
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	if err := c.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	if !got.Device {
		t.Fatalf("parsing %q: Device = false", args)
	}
	return got
}

var userCodeRE = regexp.MustCompile(`and enter the code:\n\n  (\S+)\n`)

// TestLoginDeviceEndToEnd signs in with --device against the in-process
// certified OP: the test reads the user code from stderr and approves it
// with the browser stand-in after the first poll (which the OP answers
// authorization_pending); the tokens must land in the store and the index.
func TestLoginDeviceEndToEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, clientID, secret string
		wantBasic, wantRefresh bool
	}{
		{name: "public client", clientID: testop.NativeClientID, wantRefresh: true},
		{name: "confidential client", clientID: testop.DeviceClientID, secret: testop.DeviceClientSecret, wantBasic: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := testop.Start(t)
			const provider = "e2e-device"
			env := newLoginEnv(t, testopYAML(provider, op.Issuer, tt.clientID, "openid, email, profile, offline_access"))
			if tt.secret != "" {
				env.set("OAUTHCTL_E2E_DEVICE_CLIENT_SECRET", tt.secret)
			}
			store := keyring.NewMemory()
			f, out, errOut := loginFactory(env, store, noBrowser(t), nil)
			b := testop.NewBrowser(op, testop.Username, testop.Password)
			s := newDeviceSleeper(func(ctx context.Context, n int) error {
				if n != 2 {
					return nil
				}
				m := userCodeRE.FindStringSubmatch(errOut.String())
				if m == nil {
					return fmt.Errorf("no user code on stderr:\n%s", errOut)
				}
				return b.ApproveDevice(ctx, m[1])
			})
			f.Now = s.Now

			err := deviceLogin(t.Context(), deviceLoginOptions(t, f, provider, "--device"), s.sleep)
			if code := ExitCode(err); code != 0 {
				t.Fatalf("exit %d (%v), stderr:\n%s", code, err, errOut)
			}
			t.Logf("stderr:\n%s", errOut)
			if out.String() != "" {
				t.Errorf("stdout = %q, want nothing", out.String())
			}
			code := userCodeRE.FindStringSubmatch(errOut.String())[1]
			host := strings.TrimPrefix(op.Issuer, "http://")
			for _, want := range []string{
				"To sign in to " + provider + ", open this address in a browser on any device",
				"\n  " + op.Issuer + "/device\n",
				"\n  " + op.Issuer + "/device?user_code=" + code + "\n",
				"Enter the code only on " + host + ", and only for a sign-in you started yourself",
				"Logged in to " + provider + " as test-user@zitadel.ch.",
			} {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if got := strings.Contains(errOut.String(), "issued no refresh token"); got == tt.wantRefresh {
				t.Errorf("refresh token warning shown: %v, want %v", got, !tt.wantRefresh)
			}
			if diff := cmp.Diff(seconds(5, 5), s.waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}

			polls := op.TokenRequests(auth.DeviceGrantType)
			if len(polls) != 2 || polls[0].Status != http.StatusBadRequest || polls[1].Status != http.StatusOK {
				t.Fatalf("device token requests: %+v, want a pending one then a successful one", polls)
			}
			for _, r := range polls {
				if (r.BasicAuthUser == tt.clientID) != tt.wantBasic || r.Form.Get("client_secret") != "" {
					t.Errorf("poll client authentication: Basic user %q, form secret %v; want Basic %v", r.BasicAuthUser, r.Form.Get("client_secret") != "", tt.wantBasic)
				}
			}

			rec, err := store.Load(t.Context(), keyring.Key{Provider: provider, Account: "test-user@zitadel.ch"})
			if err != nil {
				t.Fatalf("store: %v", err)
			}
			if rec.AccessToken == "" || rec.IDToken == "" || rec.TokenType != "Bearer" || (rec.RefreshToken != "") != tt.wantRefresh || !rec.Expiry.After(time.Now()) {
				t.Errorf("stored record: AT %t ID %t RT %t type %q expiry %v", rec.AccessToken != "", rec.IDToken != "", rec.RefreshToken != "", rec.TokenType, rec.Expiry)
			}
			for _, secret := range []string{rec.AccessToken, rec.IDToken} {
				if strings.Contains(errOut.String(), secret) {
					t.Errorf("stderr contains a token")
				}
			}
			ix := env.loadIndex(t)
			want := []keyring.Account{{
				Provider: provider, Account: "test-user@zitadel.ch", Issuer: op.Issuer, TokenURL: op.Endpoints().Token,
				RevocationURL: op.Endpoints().Revocation, UserinfoURL: op.Endpoints().Userinfo, // as discovered
				ClientID: tt.clientID, Subject: testop.Subject, Identity: "test-user@zitadel.ch", Refreshable: tt.wantRefresh,
				Grant: auth.GrantAuthorizationCode, ClientAuth: map[bool]string{true: "client_secret_basic", false: "none"}[tt.secret != ""],
			}}
			if diff := cmp.Diff(want, ix.Accounts, cmpopts.IgnoreFields(keyring.Account{}, "Scopes", "Expiry", "UpdatedAt")); diff != "" {
				t.Errorf("index (-want +got):\n%s", diff)
			}
		})
	}
}

// deviceFake is a small device-grant server for the faults the real OP
// will not produce. The token endpoint answers the scripted polls in order,
// repeating the last; /user answers like GitHub's API.
type deviceFake struct {
	srv         *httptest.Server
	device      fakeReply
	polls       []fakeReply
	mu          sync.Mutex
	npoll, ndev int
}

type fakeReply struct {
	status int
	body   string
}

const (
	fakeDeviceCode  = "fake-device-code-never-shown"
	fakeAccessToken = "fake-device-access-token"
)

var (
	fakeDeviceOK = fakeReply{200, `{"device_code":"` + fakeDeviceCode + `","user_code":"WDJB-MJHT","verification_uri":"{URL}/device",
		"verification_uri_complete":"{URL}/device?user_code=WDJB-MJHT","expires_in":900,"interval":5}`}
	fakeTokenOK  = fakeReply{200, `{"access_token":"` + fakeAccessToken + `","token_type":"bearer","expires_in":28800,"refresh_token":"fake-rt","scope":"read:user"}`}
	fakePending  = fakeReply{400, `{"error":"authorization_pending"}`}
	fakeSlowDown = fakeReply{400, `{"error":"slow_down"}`}
)

func startDeviceFake(t *testing.T, device fakeReply, polls ...fakeReply) *deviceFake {
	t.Helper()
	d := &deviceFake{device: device, polls: polls}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		var rep fakeReply
		switch r.URL.Path {
		case "/device":
			d.ndev++
			rep = d.device
		case "/token":
			rep = d.polls[min(d.npoll, len(d.polls)-1)]
			d.npoll++
		case "/user":
			rep = fakeReply{200, `{"login":"octocat","id":583231}`}
		default:
			d.mu.Unlock()
			http.NotFound(w, r)
			return
		}
		d.mu.Unlock()
		if strings.HasPrefix(rep.body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(rep.status)
		fmt.Fprint(w, strings.ReplaceAll(rep.body, "{URL}", d.srv.URL))
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *deviceFake) counts() (device, token int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ndev, d.npoll
}

// yaml is a GitHub-like entry: no issuer, no ID token, /user for the name.
func (d *deviceFake) yaml() string {
	u := d.srv.URL
	return fmt.Sprintf("providers:\n  fake:\n    auth_url: %s/auth\n    token_url: %s/token\n    device_auth_url: %s/device\n    userinfo_url: %s/user\n    client_id: fake-client\n    scopes: [read:user]\n", u, u, u, u)
}

// TestLoginDeviceFake runs deviceLogin against the fake, asserting the
// exit code, the exact stderr, the waits, and that a failed login stores
// nothing.
func TestLoginDeviceFake(t *testing.T) {
	t.Parallel()
	prompt := `To sign in to fake, open this address in a browser on any device (a phone works too):

  {URL}/device

and enter the code:

  WDJB-MJHT

Or open this link, which fills in the code for you:

  {URL}/device?user_code=WDJB-MJHT

Enter the code only on {HOST}, and only for a sign-in you started yourself in this terminal:
whoever asks you to enter a code on another site, or sends you one, is trying to get into your account.
Waiting up to {WAIT} for you to approve (Ctrl-C to cancel)...
`
	tests := []struct {
		name      string
		args      []string
		device    fakeReply
		polls     []fakeReply
		cancelAt  int // cancel the context during this wait (Ctrl-C)
		wantCode  int
		wantWaits []time.Duration
		// wantStderr follows the prompt ("" when no prompt is shown:
		// wantWaits is nil); {URL}, {HOST} and {WAIT} are replaced.
		wantStderr string
		noPrompt   bool
	}{
		{
			name:       "approved after authorization_pending and slow_down",
			polls:      []fakeReply{fakePending, fakeSlowDown, fakePending, fakeTokenOK},
			wantWaits:  seconds(5, 5, 10, 10),
			wantStderr: "Logged in to fake as octocat.\nGranted scopes: read:user\n",
		},
		{
			name:       "access_denied",
			polls:      []fakeReply{fakePending, {400, `{"error":"access_denied"}`}},
			wantCode:   ExitLogin,
			wantWaits:  seconds(5, 5),
			wantStderr: "oauthctl: sign-in cancelled\n",
		},
		{
			name:       "expired_token",
			polls:      []fakeReply{{400, `{"error":"expired_token"}`}},
			wantCode:   ExitLogin,
			wantWaits:  seconds(5),
			wantStderr: "oauthctl: the code expired; run the command again\n",
		},
		{
			name:      "--timeout passes while pending",
			args:      []string{"--timeout", "12s"},
			polls:     []fakeReply{fakePending},
			wantCode:  ExitLogin,
			wantWaits: seconds(5, 5, 2),
			wantStderr: "oauthctl: timed out after 12s waiting for the code to be entered (see --timeout)\n" +
				"run the command again, with a longer --timeout if you need more time\n",
		},
		{
			name:      "token endpoint 502",
			polls:     []fakeReply{{502, "Bad Gateway"}},
			wantCode:  ExitUnavailable,
			wantWaits: seconds(5, 10, 20, 40),
			wantStderr: "oauthctl: token endpoint answered HTTP 502: Bad Gateway\n" +
				"the provider may have a temporary problem; try again in a moment\n",
		},
		{
			name:      "malformed token response",
			polls:     []fakeReply{{200, `<html>not json</html>`}},
			wantCode:  ExitUnavailable,
			wantWaits: seconds(5),
			wantStderr: "oauthctl: malformed token response: not a JSON object\n" +
				"the provider may have a temporary problem; try again in a moment\n",
		},
		{
			name:      "invalid_client names the secret variable",
			polls:     []fakeReply{{401, `{"error":"invalid_client"}`}},
			wantCode:  ExitUsage,
			wantWaits: seconds(5),
			wantStderr: "oauthctl: the provider rejected the client credentials (provider returned invalid_client): check OAUTHCTL_FAKE_CLIENT_ID; " +
				"this client may need a secret: set OAUTHCTL_FAKE_CLIENT_SECRET or run `oauthctl client set fake`\n",
		},
		{
			name:       "Ctrl-C while waiting",
			polls:      []fakeReply{fakePending},
			cancelAt:   2,
			wantCode:   ExitInterrupted,
			wantWaits:  seconds(5, 5),
			wantStderr: "oauthctl: interrupted\n",
		},
		{
			name:     "device endpoint 500",
			device:   fakeReply{500, "<h1>oops</h1>"},
			wantCode: ExitUnavailable,
			noPrompt: true,
			wantStderr: "oauthctl: device authorization endpoint answered HTTP 500: <h1>oops</h1>\n" +
				"the provider may have a temporary problem; try again in a moment\n",
		},
		{
			name:     "device endpoint malformed JSON",
			device:   fakeReply{200, `{"device_code":`},
			wantCode: ExitUnavailable,
			noPrompt: true,
			wantStderr: "oauthctl: malformed device authorization response: not a JSON object\n" +
				"the provider may have a temporary problem; try again in a moment\n",
		},
		{
			name:       "verification_uri that is not https",
			device:     fakeReply{200, `{"device_code":"x","user_code":"AB","verification_uri":"http://phish.example/device"}`},
			wantCode:   ExitLogin,
			noPrompt:   true,
			wantStderr: "oauthctl: the provider's verification_uri must use https (plain http is allowed only for loopback hosts); refusing to send you there\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			device := tt.device
			if device.status == 0 {
				device = fakeDeviceOK
			}
			polls := tt.polls
			if polls == nil {
				polls = []fakeReply{fakeTokenOK}
			}
			fake := startDeviceFake(t, device, polls...)
			env := newLoginEnv(t, fake.yaml())
			store := keyring.NewMemory()
			f, out, errOut := loginFactory(env, store, noBrowser(t), nil)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s := newDeviceSleeper(func(_ context.Context, n int) error {
				if n == tt.cancelAt {
					cancel()
				}
				return nil
			})
			f.Now = s.Now

			err := deviceLogin(ctx, deviceLoginOptions(t, f, append([]string{"fake", "--device"}, tt.args...)...), s.sleep)
			if err != nil {
				fmt.Fprint(errOut, errorText(err))
			}
			if code := ExitCode(err); code != tt.wantCode {
				t.Errorf("exit %d (%v), want %d", code, err, tt.wantCode)
			}
			if out.String() != "" {
				t.Errorf("stdout = %q, want nothing", out.String())
			}
			wait := "5m" // --timeout's default, shorter than the code's 15 minutes
			if len(tt.args) > 0 {
				wait = tt.args[1]
			}
			want := tt.wantStderr
			if !tt.noPrompt {
				want = prompt + want
			}
			want = strings.NewReplacer("{URL}", fake.srv.URL, "{HOST}", strings.TrimPrefix(fake.srv.URL, "http://"), "{WAIT}", wait).Replace(want)
			if diff := cmp.Diff(want, errOut.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWaits, s.waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			wantPolls := len(tt.wantWaits) // one after each wait
			if tt.cancelAt > 0 {
				wantPolls = tt.cancelAt - 1 // none after the interrupted wait
			}
			if _, polls := fake.counts(); polls != wantPolls {
				t.Errorf("%d polls, want %d", polls, wantPolls)
			}
			for _, secret := range []string{fakeDeviceCode, fakeAccessToken} {
				if strings.Contains(errOut.String(), secret) {
					t.Errorf("stderr contains %q", secret)
				}
			}
			ix := env.loadIndex(t)
			if tt.wantCode != 0 {
				if store.Saves != 0 || len(ix.Accounts) != 0 {
					t.Errorf("a failed login stored something: %d saves, index %+v", store.Saves, ix.Accounts)
				}
				return
			}
			rec, err := store.Load(t.Context(), keyring.Key{Provider: "fake", Account: "octocat"})
			if err != nil {
				t.Fatalf("store: %v", err)
			}
			if rec.AccessToken != fakeAccessToken || rec.RefreshToken != "fake-rt" || rec.TokenType != "Bearer" {
				t.Errorf("stored record: %q %q %q", rec.AccessToken, rec.RefreshToken, rec.TokenType)
			}
			wantAcct := []keyring.Account{{
				Provider: "fake", Account: "octocat", TokenURL: fake.srv.URL + "/token", ClientID: "fake-client",
				UserinfoURL: fake.srv.URL + "/user", Scopes: []string{"read:user"}, Subject: "583231", Identity: "octocat", Refreshable: true, Grant: auth.GrantAuthorizationCode,
				ClientAuth: "none",
			}}
			if diff := cmp.Diff(wantAcct, ix.Accounts, cmpopts.IgnoreFields(keyring.Account{}, "Expiry", "UpdatedAt")); diff != "" {
				t.Errorf("index (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoginDeviceCommandLine runs `oauthctl login --device` through Run for
// the cases that end before any wait: the exit code and the exact stderr.
func TestLoginDeviceCommandLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		yaml       string // {URL} is the fake's URL
		args       []string
		wantCode   int
		wantStderr string
		wantDevice int // requests to the device endpoint
	}{
		{
			name:     "provider without a device endpoint",
			yaml:     "providers:\n  nodev:\n    auth_url: https://as.example/auth\n    token_url: https://as.example/token\n    client_id: x\n    scopes: [a]\n",
			args:     []string{"login", "nodev", "--device"},
			wantCode: ExitUsage,
			wantStderr: "oauthctl: nodev has no device authorization endpoint, so --device cannot be used (set device_auth_url in its providers.yaml entry if the provider offers the device flow)\n" +
				"sign in without a local browser instead: oauthctl login nodev --no-browser\n",
		},
		{
			name:     "device endpoint 503",
			yaml:     "providers:\n  fake:\n    auth_url: {URL}/auth\n    token_url: {URL}/token\n    device_auth_url: {URL}/device\n    client_id: x\n    scopes: [a]\n",
			args:     []string{"login", "fake", "--device"},
			wantCode: ExitUnavailable,
			wantStderr: "oauthctl: device authorization endpoint answered HTTP 503: down\n" +
				"the provider may have a temporary problem; try again in a moment\n",
			wantDevice: 1,
		},
		{
			name:       "--device with --no-browser",
			yaml:       "providers:\n  fake:\n    auth_url: {URL}/auth\n    token_url: {URL}/token\n    device_auth_url: {URL}/device\n    client_id: x\n    scopes: [a]\n",
			args:       []string{"login", "fake", "--device", "--no-browser"},
			wantCode:   ExitUsage,
			wantStderr: "oauthctl: --device and --no-browser cannot be used together\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := startDeviceFake(t, fakeReply{503, "down"}, fakeTokenOK)
			env := newLoginEnv(t, strings.ReplaceAll(tt.yaml, "{URL}", fake.srv.URL))
			store := keyring.NewMemory()
			f, out, errOut := loginFactory(env, store, noBrowser(t), nil)
			if code := Run(t.Context(), f, tt.args); code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			if out.String() != "" {
				t.Errorf("stdout = %q, want nothing", out.String())
			}
			if diff := cmp.Diff(tt.wantStderr, errOut.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if dev, tok := fake.counts(); dev != tt.wantDevice || tok != 0 {
				t.Errorf("requests: %d device, %d token; want %d, 0", dev, tok, tt.wantDevice)
			}
			if store.Saves != 0 {
				t.Errorf("%d saves, want none", store.Saves)
			}
		})
	}
}

// TestDeviceCodeOtherHost: a verification_uri on another host than the
// issuer's was shown without comment (issue 10 item 11); the warning now
// names both hosts. The same host adds nothing.
func TestDeviceCodeOtherHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, host, providerHost string
		wantNote                 bool
	}{
		{name: "other host", host: "evil.example", providerHost: "login.example.com", wantNote: true},
		{name: "same host", host: "login.example.com", providerHost: "login.example.com"},
		{name: "same host, other case", host: "Login.Example.com", providerHost: "login.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			dc := &auth.DeviceCode{UserCode: "WDJB-MJHT", VerificationURI: "https://" + tt.host + "/device", Host: tt.host, ProviderHost: tt.providerHost}
			printDeviceCode(&b, (&iostreams.IOStreams{}).ErrColorScheme(), &auth.Provider{Name: "fake"}, dc, time.Minute, false)
			note := "Note: this address is on " + tt.host + ", not on " + tt.providerHost + ", the host of fake's issuer."
			if got := strings.Contains(b.String(), note); got != tt.wantNote {
				t.Errorf("note shown: %v, want %v:\n%s", got, tt.wantNote, b.String())
			}
		})
	}
}

// TestLoginDeviceOfferBrowser: on a terminal the device flow shows the code
// in bold and offers to open the verification address with Enter; Enter
// opens the link that carries the code. Off a terminal there is no offer.
func TestLoginDeviceOfferBrowser(t *testing.T) {
	t.Parallel()
	for _, tty := range []bool{true, false} {
		t.Run(fmt.Sprint("tty=", tty), func(t *testing.T) {
			t.Parallel()
			fake := startDeviceFake(t, fakeDeviceOK, fakePending, fakeTokenOK)
			env := newLoginEnv(t, fake.yaml())
			opened := make(chan string, 1)
			open := func(_ context.Context, u string) error { opened <- u; return nil }
			f, _, errOut := loginFactory(env, keyring.NewMemory(), open, strings.NewReader("\n"))
			f.IO.InTTY, f.IO.ErrTTY = tty, tty
			s := newDeviceSleeper(func(ctx context.Context, n int) error {
				if n == 1 && tty {
					select { // the user presses Enter while the flow polls
					case <-opened:
					case <-time.After(10 * time.Second):
						return errors.New("the browser was not opened after Enter")
					}
				}
				return nil
			})
			f.Now = s.Now
			if err := deviceLogin(t.Context(), deviceLoginOptions(t, f, "fake", "--device"), s.sleep); err != nil {
				t.Fatalf("%v\nstderr:\n%s", err, errOut)
			}
			host := strings.TrimPrefix(fake.srv.URL, "http://")
			offer := "Press Enter to open " + host + " in your browser.\n"
			if got := strings.Contains(errOut.String(), offer); got != tty {
				t.Errorf("offer shown = %v, want %v:\n%s", got, tty, errOut)
			}
			if bold := strings.Contains(errOut.String(), "\x1b[1mWDJB-MJHT\x1b[0m"); bold != tty {
				t.Errorf("bold code = %v, want %v:\n%q", bold, tty, errOut)
			}
			if !tty {
				select {
				case u := <-opened:
					t.Errorf("opened %s without a terminal", u)
				default:
				}
			}
		})
	}
}
