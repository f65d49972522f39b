package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/sipswitch/sipswitch/internal/atomicfile"
)

func sortedNames(files Files) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func checkFileName(name string) error {
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("%w: file name %q", ErrInvalidName, name)
	}
	return nil
}

// WriteFiles writes each file whose bytes differ from what dir holds, each
// one atomically (temporary file in dir, fsync, rename, fsync of dir). It
// returns the names it replaced. On error, files not yet renamed keep their
// previous content; no file is ever left half-written.
//
// The files hold passwords (those sent to carriers in clear; see
// README.md): they are readable by their owner alone (0600), or also by
// the group WithGroup names (0640). Each temporary file has its final
// group and mode before a byte is written to it, so no other user can
// read one at any moment. A file whose bytes are unchanged but whose mode
// or group differs (as earlier versions wrote them, 0644) is replaced the
// same way without counting as changed. A missing dir is created (0700,
// or 0750 with the group).
//
// Writers of one directory (the daemon, a `sipswitch render` run beside it)
// take turns on an exclusive lock of the directory. Holding it, WriteFiles
// removes the temporary files of its names (".NAME.tmp-*") that a writer
// killed before its rename left behind: no writer at work can own them.
func WriteFiles(dir string, files Files, opts ...WriteOption) (changed []string, err error) {
	names := sortedNames(files)
	for _, name := range names {
		if err := checkFileName(name); err != nil {
			return nil, err
		}
	}
	perm, err := newFilePerm(opts)
	if err != nil {
		return nil, err
	}
	if err := perm.makeDir(dir); err != nil {
		return nil, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := removeLeftovers(dir, names); err != nil {
		return nil, err
	}
	renamed := false
	for _, name := range names {
		path := filepath.Join(dir, name)
		same, err := sameContent(path, files[name], perm)
		if err != nil {
			return changed, err
		}
		if same == sameBytesAndPerm {
			continue
		}
		if err := atomicfile.Write(path, files[name], perm.atomic()); err != nil {
			return changed, err
		}
		renamed = true
		if same == differs {
			changed = append(changed, name)
		}
	}
	if renamed {
		if err := atomicfile.SyncDir(dir); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// sameness is how an existing file compares with what WriteFiles would
// write.
type sameness int

const (
	differs          sameness = iota // other bytes, or no file
	sameBytesOnly                    // same bytes, another mode or group
	sameBytesAndPerm                 // nothing to do
)

// sameContent compares a file with data in chunks, so an unchanged
// 200 MB dialplan costs no 200 MB allocation; size is checked first. A
// file this process may not read (another user's, left by a render run
// as root) differs: it is replaced by one of ours.
func sameContent(path string, data []byte, perm filePerm) (sameness, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return differs, nil
	}
	if err != nil {
		return differs, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return differs, fmt.Errorf("read %s: %w", path, err)
	}
	if !st.Mode().IsRegular() || st.Size() != int64(len(data)) {
		return differs, nil
	}
	buf := make([]byte, 256<<10)
	for off := 0; off < len(data); {
		n, err := io.ReadFull(f, buf[:min(len(buf), len(data)-off)])
		if err != nil {
			return differs, fmt.Errorf("read %s: %w", path, err)
		}
		if !bytes.Equal(buf[:n], data[off:off+n]) {
			return differs, nil
		}
		off += n
	}
	if !perm.matches(st) {
		return sameBytesOnly, nil
	}
	return sameBytesAndPerm, nil
}

// removeLeftovers deletes the temporary files of names in dir; the caller
// holds the directory's lock.
func removeLeftovers(dir string, names []string) error {
	if !canLockDir {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		for _, name := range names {
			if strings.HasPrefix(e.Name(), atomicfile.TempPrefix(name)) {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("remove leftover %s: %w", e.Name(), err)
				}
				break
			}
		}
	}
	return nil
}

// Check compares files with what dir holds and returns a unified diff of
// what WriteFiles would change. It writes nothing. A missing file counts
// as empty.
func Check(dir string, files Files) (diff string, drift bool, err error) {
	var b strings.Builder
	for _, name := range sortedNames(files) {
		if err := checkFileName(name); err != nil {
			return "", false, err
		}
		path := filepath.Join(dir, name)
		old, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", false, fmt.Errorf("read %s: %w", path, err)
		}
		if err == nil && sameBeyondRevision(old, files[name]) {
			continue
		}
		drift = true
		ud := difflib.UnifiedDiff{
			A:        difflib.SplitLines(string(old)),
			B:        difflib.SplitLines(string(files[name])),
			FromFile: path,
			ToFile:   path + " (rendered)",
			Context:  3,
		}
		text, derr := difflib.GetUnifiedDiffString(ud)
		if derr != nil {
			return "", false, fmt.Errorf("diff %s: %w", name, derr)
		}
		if text == "" { // e.g. an empty file that does not exist yet
			text = "--- " + path + "\n+++ " + path + " (rendered)\n"
		}
		b.WriteString(text)
	}
	return b.String(), drift, nil
}

// sameBeyondRevision reports whether two renderings of a file are equal
// but for the store revision their header names (header): every write
// to the store moves the revision, users and call limits that render to
// nothing included, and that alone is no drift for Check.
func sameBeyondRevision(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	nameA, restA, okA := cutRevisionLine(a)
	nameB, restB, okB := cutRevisionLine(b)
	return okA && okB && bytes.Equal(nameA, nameB) && bytes.Equal(restA, restB)
}

// cutRevisionLine splits a first line that is header's "; NAME generated
// by sipswitch from snapshot revision N." from the rest of the file.
func cutRevisionLine(b []byte) (name, rest []byte, ok bool) {
	line, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return nil, nil, false
	}
	name, rev, ok := bytes.Cut(line, []byte(" generated by sipswitch from snapshot revision "))
	if !ok || !bytes.HasPrefix(name, []byte("; ")) {
		return nil, nil, false
	}
	digits, ok := bytes.CutSuffix(rev, []byte("."))
	if !ok || len(digits) == 0 {
		return nil, nil, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil, nil, false
		}
	}
	return name, rest, true
}
