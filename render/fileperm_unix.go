//go:build unix

package render

import (
	"io/fs"
	"syscall"
)

// fileGroup is the group id that owns a file.
func fileGroup(fi fs.FileInfo) (gid int, known bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Gid), true
}
