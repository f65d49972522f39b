//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package render

// lockDir cannot lock here; WriteFiles then leaves temporary files it did
// not make alone, since one may belong to a writer still at work.
func lockDir(string) (unlock func(), err error) { return func() {}, nil }

const canLockDir = false
