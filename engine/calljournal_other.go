//go:build !unix

package engine

import "os"

// lockFile does nothing where there is no flock: one switch per journal
// is the operator's to keep.
func lockFile(*os.File) error { return nil }

// syncDir does nothing where a directory cannot be synced.
func syncDir(string) error { return nil }
