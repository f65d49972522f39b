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
