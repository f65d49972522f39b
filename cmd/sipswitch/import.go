package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/importer"
	"github.com/sipswitch/sipswitch/storage"
)

const importUsage = "usage: sipswitch import asterisk --dir DIR (--db PATH | --yaml FILE) [--dry-run]"

// importHelp follows the usage line in `import asterisk -h`.
const importHelp = `
Reads pjsip.conf, pjsip_wizard.conf, sip.conf and extensions.conf of DIR
(and acl.conf for named ACLs) and creates their lines, peers, SIP
endpoints, rate plans and routes. Prints every object and every option
that is not imported as written, with its file and line; passwords are
never printed.

Exit status: 0 when every object was imported (or exists unchanged), 1
when any object is NOT IMPORTED (the rest is still written unless
--dry-run) or the import failed (then nothing is written), 2 for a usage
error.

flags:
`

// runImport is `sipswitch import asterisk`: read an Asterisk SIP
// configuration and create its peers, lines and SIP endpoints in a
// database or a switch file (package importer).
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "asterisk" {
		fmt.Fprintln(stderr, importUsage)
		return errUsage
	}
	fs := newFlags("import asterisk", stderr)
	dir := fs.String("dir", "", "Asterisk configuration directory: sip.conf, pjsip.conf, pjsip_wizard.conf and what they include")
	db := fs.String("db", "", "database to import into (created when missing)")
	yamlPath := fs.String("yaml", "", "switch file to write, or to extend when it exists, instead of a database")
	dryRun := fs.Bool("dry-run", false, "print what would be created and every finding; write nothing")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), importUsage+"\n"+importHelp)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	switch {
	case *dir == "":
		return usageErr(fs, "--dir is required")
	case (*db == "") == (*yamlPath == ""):
		return usageErr(fs, "give exactly one of --db and --yaml")
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		return usageErr(fs, "--dir %s is not a directory", *dir)
	}
	var dst importer.Destination
	if *yamlPath != "" {
		dst = importer.ToSwitchFile(*yamlPath)
	} else {
		svc, closeDB, err := importDatabase(ctx, *db, *dryRun, stderr)
		if err != nil {
			return err
		}
		defer closeDB()
		dst = importer.ToService(svc)
	}
	res, err := importer.Import(ctx, importer.Options{Dir: *dir}, dst, *dryRun)
	if res != nil {
		if werr := res.WriteReport(stdout, *dryRun); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return fmt.Errorf("nothing imported: %w", err)
	}
	if n := res.NotImported(); n > 0 {
		// Exit 1: a script must not take a partial migration for a
		// whole one. The report above names each object and why.
		verb := "were"
		if *dryRun {
			verb = "would be"
		}
		return fmt.Errorf("%d objects %s NOT IMPORTED (see the report above)", n, verb)
	}
	return nil
}

// importDatabase opens the database to import into. A dry run against a
// database that does not exist yet checks against an empty one in a
// temporary directory, so that it creates no file.
func importDatabase(ctx context.Context, path string, dryRun bool, stderr io.Writer) (*engine.Service, func(), error) {
	if _, err := os.Stat(path); !dryRun || storage.IsPostgresDSN(path) || !errors.Is(err, fs.ErrNotExist) {
		store, svc, err := openService(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return svc, func() { store.Close() }, nil
	}
	tmp, err := os.MkdirTemp("", "sipswitch-import-")
	if err != nil {
		return nil, nil, fmt.Errorf("dry run: %w", err)
	}
	cleanup := func() { os.RemoveAll(tmp) }
	store, err := storage.Open(ctx, filepath.Join(tmp, "dry-run.db"))
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("dry run: %w", err)
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		store.Close()
		cleanup()
		return nil, nil, fmt.Errorf("dry run: %w", err)
	}
	svc := engine.NewService(store)
	if _, _, err := svc.Bootstrap(ctx, base64.RawURLEncoding.EncodeToString(b)); err != nil {
		store.Close()
		cleanup()
		return nil, nil, fmt.Errorf("dry run: %w", err)
	}
	fmt.Fprintf(stderr, "sipswitch import: %s does not exist; the dry run checks against an empty database\n", path)
	return svc, func() { store.Close(); cleanup() }, nil
}
