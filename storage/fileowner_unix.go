//go:build unix

package storage

import (
	"io/fs"
	"syscall"
)

// fileOwner is the uid that owns a file.
func fileOwner(fi fs.FileInfo) (uid int, known bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
