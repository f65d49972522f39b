package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sipswitch/sipswitch/api"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	db := fs.String("db", "./sipswitch.db", "database file")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP listen address of the admin API")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	store, svc, err := openService(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()

	mux := http.NewServeMux()
	mux.Handle("/api/json/", api.NewHandler(svc, api.WithLogger(log)))
	gateway := api.NewGatewayHandler(svc, api.WithGatewayLogger(log))
	mux.Handle(api.GatewayLoginPath, gateway)
	mux.Handle(api.GatewayJSONPath, gateway)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *httpAddr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	log.Info("sipswitch serving", "http", ln.Addr().String(), "db", *db, "version", versionString())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	log.Info("sipswitch stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}
