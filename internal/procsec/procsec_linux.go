package procsec

import "golang.org/x/sys/unix"

// DisableCoreDumps keeps tokens out of core files with two syscalls and no
// allocation, so it can run first thing on every start, `token` included:
//   - PR_SET_DUMPABLE 0: no core dump, and no ptrace or reading of
//     /proc/PID/mem, environ or fd by other processes of the same user;
//   - RLIMIT_CORE 0 (soft and hard), also for a kernel that dumps
//     undumpable processes anyway (suid_dumpable 2). A child of `oauthctl
//     exec` inherits the limit, which is right: its environment holds the
//     token too.
//
// Errors are ignored: a sandbox that forbids either call is no reason not
// to run.
func DisableCoreDumps() {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}
