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
	"github.com/sipswitch/sipswitch/storage"
)

// runCalls is `sipswitch calls export`: call records as CSV on stdout.
func runCalls(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprintln(stderr, "usage: sipswitch calls export --db PATH [--since T] [--until T] [--customer ID] [--line NAME] [--peer NAME] [--direction D]")
		return errUsage
	}
	fs := newFlags("calls export", stderr)
	db := fs.String("db", "./sipswitch.db", "database file or postgres:// URL")
	since := fs.String("since", "", "calls that started at or after: unix seconds or RFC 3339")
	until := fs.String("until", "", "calls that started before: unix seconds or RFC 3339")
	customer := fs.Int("customer", 0, "calls of this customer")
	line := fs.String("line", "", "calls of this line")
	peer := fs.String("peer", "", "calls this peer carried")
	direction := fs.String("direction", "", "outbound, inbound, local or forwarded")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	filters := engine.Values{}
	for name, v := range map[string]string{"since": *since, "until": *until} {
		if v == "" {
			continue
		}
		t, err := parseWhen(v)
		if err != nil {
			return usageErr(fs, "--%s: %v", name, err)
		}
		filters[name] = strconv.FormatInt(t.Unix(), 10)
	}
	if *customer > 0 {
		filters["customer"] = strconv.Itoa(*customer)
	}
	for name, v := range map[string]string{"line": *line, "peer": *peer, "direction": *direction} {
		if v != "" {
			filters[name] = v
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
	n, err := engine.NewService(store).ExportCalls(ctx, engine.SystemActor(), filters, stdout)
	var fe engine.FieldErrors
	if errors.As(err, &fe) {
		return usageErr(fs, "%s", fe.Error())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sipswitch calls export: %d calls\n", n)
	return nil
}

// parseWhen reads unix seconds or an RFC 3339 time.
func parseWhen(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("want unix seconds or RFC 3339 (2026-12-01T00:00:00Z)")
	}
	return t, nil
}
