package testkeyring

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	dbus "github.com/godbus/dbus/v5"
)

// StartTimeout bounds how long Start waits for the bus and the Secret
// Service to answer.
const StartTimeout = 15 * time.Second

// MissingError means a daemon the harness needs is not installed.
type MissingError struct {
	Tool string // the missing executable
}

func (e *MissingError) Error() string {
	return e.Tool + " not installed; " + InstallHint
}

func isMissing(err error) bool {
	var me *MissingError
	return errors.As(err, &me)
}

// Start runs a private D-Bus session bus and an unlocked gnome-keyring on it
// and waits (at most StartTimeout) until the Secret Service serves the
// "login" collection. It changes nothing in the calling process: env holds
// the "KEY=VALUE" entries a process needs to use the session (pass them to
// Setenv, or to a subprocess; see Env), and stop kills both daemons and removes their
// files; stop is safe to call more than once. A *MissingError means
// dbus-daemon or gnome-keyring-daemon is not installed.
func Start() (env []string, stop func(), err error) {
	return start(modeUnlocked)
}

// StartBus runs a private D-Bus session bus with no Secret Service on it, for
// tests of the "no Secret Service" path. Use its env in a subprocess: godbus
// caches the first session-bus connection of a process.
func StartBus() (env []string, stop func(), err error) {
	return start(modeBare)
}

// StartLocked runs a private bus with gnome-keyring whose login collection
// exists but is locked, and no prompter to unlock it: gnome-keyring
// dismisses every unlock prompt at once, as when a user cancels the unlock
// dialog. Use its env in a subprocess, as with StartBus.
func StartLocked() (env []string, stop func(), err error) {
	return start(modeLocked)
}

type mode int

const (
	modeBare mode = iota
	modeUnlocked
	modeLocked
)

func start(m mode) (env []string, stop func(), err error) {
	tools := []string{"dbus-daemon"}
	if m != modeBare {
		tools = append(tools, "gnome-keyring-daemon")
	}
	paths := map[string]string{}
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			return nil, nil, &MissingError{Tool: tool}
		}
		paths[tool] = p
	}

	dir, err := os.MkdirTemp("", "testkeyring-")
	if err != nil {
		return nil, nil, err
	}
	s := &session{dir: dir}
	stop = s.stop
	defer func() {
		if err != nil {
			stop()
		}
	}()

	// Step 1: the bus, on a socket path we choose, so the address is known
	// without parsing the daemon's output.
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(busConfig(sock)), 0o600); err != nil {
		return nil, nil, err
	}
	address := "unix:path=" + sock
	busLog := filepath.Join(dir, "dbus-daemon.log")
	bus, err := s.spawn(paths["dbus-daemon"], []string{"--config-file=" + conf, "--nofork", "--nopidfile"}, nil, busLog, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("starting dbus-daemon: %w", err)
	}
	deadline := time.Now().Add(StartTimeout)
	conn, err := waitConnect(address, bus, deadline)
	if err != nil {
		return nil, nil, fmt.Errorf("dbus-daemon: %w%s", err, logTail(busLog))
	}
	defer conn.Close()
	if m == modeBare {
		// StateEnv makes a child test binary's Main run its tests on this bus
		// instead of starting a session, and its Require fail loudly.
		return []string{BusEnv + "=" + address, StateEnv + "=error: a bare bus from StartBus has no Secret Service"}, stop, nil
	}

	// Step 2: gnome-keyring with its own home, unlocked with a throwaway
	// password read from stdin.
	home := filepath.Join(dir, "home")
	runtimeDir := filepath.Join(dir, "run")
	for _, d := range []string{home, runtimeDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, nil, err
		}
	}
	gkEnv := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"XDG_RUNTIME_DIR=" + runtimeDir,
		BusEnv + "=" + address,
	}
	gkLog := filepath.Join(dir, "gnome-keyring.log")
	gk, err := s.spawn(paths["gnome-keyring-daemon"], []string{"--foreground", "--unlock", "--components=secrets"},
		gkEnv, gkLog, bytes.NewReader([]byte("testkeyring-password")))
	if err != nil {
		return nil, nil, fmt.Errorf("starting gnome-keyring-daemon: %w", err)
	}
	if err := waitSecrets(conn, gk, deadline, false); err != nil {
		return nil, nil, fmt.Errorf("gnome-keyring-daemon: %w%s", err, logTail(gkLog))
	}
	if m == modeUnlocked {
		return []string{BusEnv + "=" + address, StateEnv + "=" + address}, stop, nil
	}

	// Step 3 (locked): restart gnome-keyring on the same files without the
	// password, so the login collection it created stays locked.
	if err := s.kill(gk); err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(home, "data", "keyrings", "login.keyring")); err != nil {
		return nil, nil, fmt.Errorf("gnome-keyring-daemon did not write the login keyring: %w", err)
	}
	gk, err = s.spawn(paths["gnome-keyring-daemon"], []string{"--foreground", "--components=secrets"}, gkEnv, gkLog, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("restarting gnome-keyring-daemon: %w", err)
	}
	if err := waitSecrets(conn, gk, deadline, true); err != nil {
		return nil, nil, fmt.Errorf("gnome-keyring-daemon (locked): %w%s", err, logTail(gkLog))
	}
	return []string{BusEnv + "=" + address, StateEnv + "=error: a locked keyring from StartLocked cannot be used"}, stop, nil
}

// busConfig is a session bus with the stock policy but no service
// directories, so nothing is activated behind the test's back.
func busConfig(sock string) string {
	return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path=` + sock + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
}

type session struct {
	dir   string
	mu    sync.Mutex
	procs []*proc
	once  sync.Once
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// spawn starts a daemon in its own process group, killed if the test binary
// dies, with output to logPath.
func (s *session) spawn(path string, args, env []string, logPath string, stdin *bytes.Reader) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child keeps its own copy
	cmd := exec.Command(path, args...)
	cmd.Dir = s.dir
	cmd.Env = env
	if env == nil {
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return len(kv) >= len(BusEnv) && kv[:len(BusEnv)] == BusEnv })
	}
	cmd.Stdout = logf
	cmd.Stderr = logf
	if stdin != nil {
		cmd.Stdin = stdin // os/exec copies it and closes the pipe: EOF ends the password
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

// stop kills the daemons, newest first, and removes the directory.
func (s *session) stop() {
	s.once.Do(func() {
		s.mu.Lock()
		procs := slices.Clone(s.procs)
		s.mu.Unlock()
		for _, p := range slices.Backward(procs) {
			_ = s.kill(p)
		}
		_ = os.RemoveAll(s.dir)
	})
}

// kill stops a daemon's process group: SIGTERM, then SIGKILL after 3 s.
func (s *session) kill(p *proc) error {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
			return fmt.Errorf("%s (pid %d) did not exit", p.cmd.Path, pgid)
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // anything the daemon forked
	return nil
}

// waitConnect dials the bus until it answers, the daemon exits or the
// deadline passes.
func waitConnect(address string, p *proc, deadline time.Time) (*dbus.Conn, error) {
	for {
		conn, err := dbus.Connect(address)
		if err == nil {
			return conn, nil
		}
		if p.exited() {
			return nil, fmt.Errorf("exited early (%v)", p.cmd.ProcessState)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bus did not answer within %s: %v", StartTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const loginCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")

// waitSecrets polls until org.freedesktop.secrets is owned and lists the
// login collection, unlocked or locked as wanted.
func waitSecrets(conn *dbus.Conn, p *proc, deadline time.Time, wantLocked bool) error {
	var last error
	for {
		last = secretsReady(conn, wantLocked)
		if last == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("exited early (%v): %v", p.cmd.ProcessState, last)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Secret Service not ready within %s: %v", StartTimeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func secretsReady(conn *dbus.Conn, wantLocked bool) error {
	var owned bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&owned); err != nil {
		return err
	}
	if !owned {
		return errors.New("org.freedesktop.secrets has no owner yet")
	}
	obj := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	v, err := obj.GetProperty("org.freedesktop.Secret.Service.Collections")
	if err != nil {
		return err
	}
	cols, _ := v.Value().([]dbus.ObjectPath)
	if !slices.Contains(cols, loginCollection) {
		return fmt.Errorf("no login collection yet (have %v)", cols)
	}
	locked, err := conn.Object("org.freedesktop.secrets", loginCollection).GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		return err
	}
	if l, _ := locked.Value().(bool); l != wantLocked {
		return fmt.Errorf("login collection locked=%t, want %t", l, wantLocked)
	}
	return nil
}

// Users lists the username attribute of every item of service in the login
// collection of the Secret Service on this process's session bus, sorted. Tests
// use it to see chunk items and leftovers that the Store API hides.
func Users(service string) ([]string, error) {
	address := os.Getenv(BusEnv)
	if address == "" {
		return nil, fmt.Errorf("%s is not set", BusEnv)
	}
	conn, err := dbus.Connect(address)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var items []dbus.ObjectPath
	col := conn.Object("org.freedesktop.secrets", loginCollection)
	if err := col.Call("org.freedesktop.Secret.Collection.SearchItems", 0, map[string]string{"service": service}).Store(&items); err != nil {
		return nil, fmt.Errorf("searching items: %w", err)
	}
	users := make([]string, 0, len(items))
	for _, item := range items {
		v, err := conn.Object("org.freedesktop.secrets", item).GetProperty("org.freedesktop.Secret.Item.Attributes")
		if err != nil {
			return nil, fmt.Errorf("reading attributes of %s: %w", item, err)
		}
		attrs, _ := v.Value().(map[string]string)
		users = append(users, attrs["username"])
	}
	slices.Sort(users)
	return users, nil
}

func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return ""
	}
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return "; log: " + string(bytes.TrimSpace(data))
}
