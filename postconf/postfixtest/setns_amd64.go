//go:build linux

package postfixtest

// sysSetns is setns(2)'s number, which package syscall does not name.
const sysSetns = 308
