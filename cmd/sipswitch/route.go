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
	db := fs.String("db", "./sipswitch.db", "database file or postgres:// URL")
	plan := fs.Int("plan", 0, "rate plan id (default: the plan of the --caller line)")
	called := fs.String("called", "", "number dialled")
	caller := fs.String("caller", "", "caller's number, or a line: its class of service, caller id and plan apply")
	media := fs.String("media", "voice", "voice or fax")
	at := fs.String("time", "", "when the call is made: unix seconds or RFC 3339 (default now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *called == "" || (*plan < 1 && *caller == "") {
		return usageErr(fs, "--called and --plan (or a --caller line) are required")
	}
	if _, err := os.Stat(*db); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	store, err := storage.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := engine.NewService(store)
	params := engine.Values{"called": *called, "caller": *caller, "media": *media, "time": *at}
	if *plan > 0 {
		params["plan"] = strconv.Itoa(*plan)
	}
	// The API's own reading of the request: one rule for both.
	req, err := svc.SimulationRequest(ctx, engine.SystemActor(), params)
	var fe engine.FieldErrors
	if errors.As(err, &fe) {
		return usageErr(fs, "%s", fe.Error())
	}
	if err != nil {
		return err
	}
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	state, err := engine.NewRoutingStates(svc).Current(ctx)
	if err != nil {
		return err
	}
	// No live switch here: the route alone (routes/simulate on the daemon
	// adds what its SIP core would refuse now).
	fmt.Fprint(stdout, routing.Simulate(state, req, nil).String())
	return nil
}

func runCosts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: sipswitch costs import --db PATH --peer ID [--replace] FILE.csv")
		return errUsage
	}
	fs := newFlags("costs import", stderr)
	db := fs.String("db", "./sipswitch.db", "database file or postgres:// URL")
	peer := fs.Int("peer", 0, "peer whose cost table is loaded")
	replace := fs.Bool("replace", false, "remove the peer's existing cost rows first")
	if err := parseWithArgs(fs, args[1:]); err != nil {
		return err
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
