package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

func runRoute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("route", stderr)
	db := fs.String("db", "./sipswitch.db", "database file")
	plan := fs.Int("plan", 0, "rate plan id")
	called := fs.String("called", "", "number dialled")
	caller := fs.String("caller", "", "caller's number (empty: unknown)")
	media := fs.String("media", "voice", "voice or fax")
	at := fs.String("time", "", "when the call is made: unix seconds or RFC 3339 (default now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *plan < 1 || *called == "" {
		return usageErr(fs, "--plan and --called are required")
	}
	if *media != "voice" && *media != "fax" {
		return usageErr(fs, "--media must be voice or fax")
	}
	if !routing.ValidPrefix(*called) || !routing.ValidPrefix(*caller) {
		return usageErr(fs, "numbers are made of 0-9, *, # and +")
	}
	req := routing.CallRequest{Plan: *plan, Called: *called, Caller: *caller, Media: *media, Now: time.Now()}
	if *caller == "" {
		req.Presentation = routing.PresentationUnknown
	}
	if *at != "" {
		if n, err := strconv.ParseInt(*at, 10, 64); err == nil {
			req.Now = time.Unix(n, 0)
		} else if ts, err := time.Parse(time.RFC3339, *at); err == nil {
			req.Now = ts
		} else {
			return usageErr(fs, "--time must be unix seconds or RFC 3339")
		}
	}
	if _, err := os.Stat(*db); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	store, err := storage.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	state, err := engine.NewRoutingStates(engine.NewService(store)).Current(ctx)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, routing.Simulate(state, req).String())
	return nil
}

func runCosts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: sipswitch costs import --db PATH --peer ID [--replace] FILE.csv")
		return errUsage
	}
	fs := newFlags("costs import", stderr)
	db := fs.String("db", "./sipswitch.db", "database file")
	peer := fs.Int("peer", 0, "peer whose cost table is loaded")
	replace := fs.Bool("replace", false, "remove the peer's existing cost rows first")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if *peer < 1 || fs.NArg() != 1 {
		return usageErr(fs, "--peer and one CSV file are required")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	store, err := storage.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := engine.NewService(store)
	start := time.Now()
	// The operator at the host's shell acts as the system owner.
	n, err := svc.ImportCosts(ctx, engine.SystemActor(), *peer, f, *replace)
	var fes engine.FieldErrors
	if errors.As(err, &fes) {
		return fmt.Errorf("%s: %w", fs.Arg(0), fes)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d cost rows for peer %d (%s)\n", n, *peer, time.Since(start).Round(time.Millisecond))
	return nil
}
