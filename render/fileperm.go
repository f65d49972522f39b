package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/sipswitch/sipswitch/internal/atomicfile"
)

// ErrNoSuchGroup is returned for a WithGroup group the system does not
// know.
var ErrNoSuchGroup = errors.New("no such group")

// WriteOption adjusts WriteFiles.
type WriteOption func(*writeConfig)

type writeConfig struct{ group string }

// WithGroup gives the written files to group (a name, or a numeric id)
// and lets it read them: files 0640, a directory WriteFiles creates 0750.
// It is meant for the group Asterisk runs as: the files hold the
// passwords Asterisk sends to carriers. The writing user must be a member
// of the group (or root) for the system to let it give files to it.
// Without it only the owner may read the files: 0600, a new directory
// 0700.
func WithGroup(group string) WriteOption {
	return func(c *writeConfig) { c.group = group }
}

// filePerm is what WriteFiles gives each file and a directory it makes.
type filePerm struct {
	file, dir fs.FileMode
	gid       int // -1: the group the system gives
}

func newFilePerm(opts []WriteOption) (filePerm, error) {
	var c writeConfig
	for _, o := range opts {
		o(&c)
	}
	if c.group == "" {
		return filePerm{file: 0o600, dir: 0o700, gid: -1}, nil
	}
	gid, err := LookupGroup(c.group)
	if err != nil {
		return filePerm{}, err
	}
	return filePerm{file: 0o640, dir: 0o750, gid: gid}, nil
}

// LookupGroup returns the id of a group named by name or by number.
func LookupGroup(name string) (gid int, err error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		var unknown user.UnknownGroupError
		if errors.As(err, &unknown) {
			return 0, fmt.Errorf("render: group %q: %w", name, ErrNoSuchGroup)
		}
		return 0, fmt.Errorf("render: group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

// matches reports whether an existing file already has the mode and
// group WriteFiles would give it.
func (p filePerm) matches(fi fs.FileInfo) bool {
	if fi.Mode().Perm() != p.file {
		return false
	}
	if p.gid < 0 {
		return true
	}
	gid, known := fileGroup(fi)
	return !known || gid == p.gid
}

// atomic is p for a file's atomic write (internal/atomicfile), which
// gives the temporary file its group, then its mode, while it holds
// nothing yet: it is 0600 until the group is right, so no one else ever
// reads it.
func (p filePerm) atomic() atomicfile.Perm { return atomicfile.Perm{Mode: p.file, GID: p.gid} }

// makeDir creates dir when it is missing: its parents as they would be
// anyway (0755 less the umask), dir itself with p's directory mode and
// group. An existing directory is left as it is: it is the operator's.
func (p filePerm) makeDir(dir string) error {
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return fmt.Errorf("render: %s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("render: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("render: create %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made by a writer beside us
		}
		return fmt.Errorf("render: create %s: %w", dir, err)
	}
	if p.gid >= 0 {
		if err := os.Chown(dir, -1, p.gid); err != nil {
			return fmt.Errorf("render: give %s to group %d (the writing user must be a member): %w", dir, p.gid, err)
		}
	}
	// Explicitly: the umask (UMask=0077 in the unit) takes the group's
	// bits from what Mkdir asks for.
	if err := os.Chmod(dir, p.dir); err != nil {
		return fmt.Errorf("render: create %s: %w", dir, err)
	}
	return nil
}
