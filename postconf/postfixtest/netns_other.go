//go:build !linux

package postfixtest

import (
	"context"
	"net"
	"testing"
)

// NetNS is a Linux network namespace; there are none here.
type NetNS struct {
	Name   string
	HostIP string
	NSIP   string
}

// NewNetNS returns ErrNoNetNS: network namespaces are Linux's.
func NewNetNS(tb testing.TB, upstream string) (*NetNS, error) { return nil, ErrNoNetNS }

// Dial fails: there is no namespace to dial into.
func (ns *NetNS) Dial(ctx context.Context, addr, local string) (*Client, Reply, error) {
	return nil, Reply{}, ErrNoNetNS
}

func (ns *NetNS) dial(ctx context.Context, addr, local string) (net.Conn, error) {
	return nil, ErrNoNetNS
}
