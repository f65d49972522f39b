//go:build !linux

package media

import (
	"errors"
	"net/netip"

	"github.com/sipswitch/sipswitch/internal/udpbatch"
)

// Only Linux has the epoll model; elsewhere every socket has a goroutine.

const pollSupported = false

type poller struct{ workers []*pollWorker }

type pollWorker struct{}

func newPoller(*Engine, int) (*poller, error) { return nil, errors.New("media: epoll needs Linux") }

func (*pollWorker) add(int, *reader) error { return errors.New("media: epoll needs Linux") }
func (*pollWorker) remove(int)             {}
func (*poller) close()                     {}

func bindFD(netip.Addr) func(port int) (udpSock, error) { return nil }

func closeFD(int) {}

func fdReader(int, int, int) *udpbatch.Reader { return nil }
func fdWriter(int, int) *udpbatch.Writer      { return nil }
