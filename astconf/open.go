package astconf

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// AsteriskDir is where Asterisk keeps its configuration; absolute include
// paths below it are read from DirOpener.Dir instead.
const AsteriskDir = "/etc/asterisk"

// maxFileSize bounds one configuration file (a 10,000-line sip.conf is
// under 1 MiB).
const maxFileSize = 64 << 20

// DirOpener opens files of one configuration directory.
type DirOpener struct {
	Dir string
}

// Open resolves name in the directory: a relative name is under Dir, an
// absolute one under /etc/asterisk is rebased into Dir, any other absolute
// name (or a relative one climbing out with "..") is refused with
// ErrOutside. A glob pattern returns every match in lexical order.
func (d DirOpener) Open(ctx context.Context, name string) ([]Source, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("configuration directory %s: %w", d.Dir, err)
	}
	rel := name
	if filepath.IsAbs(name) {
		r, err := filepath.Rel(AsteriskDir, filepath.Clean(name))
		if err != nil || r == ".." || strings.HasPrefix(r, "../") {
			return nil, fmt.Errorf("%q: %w %s", name, ErrOutside, d.Dir)
		}
		rel = r
	}
	rel = filepath.Clean(rel)
	if rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return nil, fmt.Errorf("%q: %w %s", name, ErrOutside, d.Dir)
	}
	pattern := filepath.Join(root, rel)
	var paths []string
	if strings.ContainsAny(rel, "*?[") {
		paths, err = filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("%q: bad pattern: %w", name, err)
		}
		sort.Strings(paths)
	} else {
		paths = []string{pattern}
	}
	var out []Source
	for _, p := range paths {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if !st.Mode().IsRegular() {
			continue // Asterisk ignores what is not a regular file
		}
		if st.Size() > maxFileSize {
			return nil, fmt.Errorf("%s: larger than %d bytes", p, maxFileSize)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		r, _ := filepath.Rel(root, p)
		out = append(out, Source{Name: filepath.ToSlash(r), Key: p, Data: data})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q: %w in %s", name, ErrNotFound, d.Dir)
	}
	return out, nil
}

// MapOpener serves files from memory, for tests and fuzzing. Globs are not
// expanded.
type MapOpener map[string]string

// Open returns the named file.
func (m MapOpener) Open(_ context.Context, name string) ([]Source, error) {
	data, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("%q: %w", name, ErrNotFound)
	}
	return []Source{{Name: name, Key: name, Data: []byte(data)}}, nil
}
