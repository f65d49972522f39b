//go:build !unix

package render

import "io/fs"

// fileGroup: no POSIX group here.
func fileGroup(fs.FileInfo) (gid int, known bool) { return 0, false }
