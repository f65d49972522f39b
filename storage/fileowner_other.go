//go:build !unix

package storage

import "io/fs"

// fileOwner: no POSIX owner here, so modes are left as they are.
func fileOwner(fs.FileInfo) (uid int, known bool) { return 0, false }
