package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sipswitch/sipswitch/config"
	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/render"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

func runRender(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("render", stderr)
	db := fs.String("db", "", "database file or postgres:// URL to render from")
	from := fs.String("from", "", "switch file (YAML) to render from")
	out := fs.String("out", "", "directory to write sip.conf, pjsip.conf, iax.conf and extensions.conf to")
	check := fs.Bool("check", false, "write nothing; print a unified diff and exit 1 when the output would change")
	driver := fs.String("phone-driver", "pjsip", "SIP channel driver of phones, type=sip peers and SIP endpoints: pjsip or sip")
	tlsCert := fs.String("tls-cert", "", "PEM certificate on the Asterisk host for its TLS listeners")
	tlsKey := fs.String("tls-key", "", "PEM private key for --tls-cert")
	relay := fs.String("media-relay", "auto", "the SIP core's media.relay the files follow: auto, always or never")
	mediaTimeout := fs.Duration("media-timeout", 60*time.Second, "media.timeout: RTP silence that ends a call (0 = none)")
	holdTimeout := fs.Duration("media-hold-timeout", time.Hour, "media.hold_timeout: the same while on hold (0 = none)")
	group := fs.String("group", "", "render.group: the group given the files, readable by it (0640); default: the owner alone (0600)")
	realm := fs.String("realm", config.Default().Render.Realm, "render.realm: the digest realm Asterisk challenges phones in; checked passwords are rendered as its digests")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case (*db == "") == (*from == ""):
		return usageErr(fs, "give exactly one of --db and --from")
	case *out == "":
		return usageErr(fs, "--out is required")
	case *driver != "pjsip" && *driver != "sip":
		return usageErr(fs, "--phone-driver must be pjsip or sip")
	case *relay != "auto" && *relay != "always" && *relay != "never":
		return usageErr(fs, "--media-relay must be auto, always or never")
	case *mediaTimeout < 0 || *holdTimeout < 0:
		return usageErr(fs, "--media-timeout and --media-hold-timeout must not be negative")
	}
	if err := render.CheckRealm(*realm); err != nil {
		return usageErr(fs, "--realm: %v", err)
	}
	if *group != "" && !*check {
		if _, err := render.LookupGroup(*group); err != nil {
			return usageErr(fs, "--group: %v", err)
		}
	}
	snap, costs, err := loadSnapshot(ctx, *db, *from)
	if err != nil {
		var sfe engine.SwitchFileErrors
		if errors.As(err, &sfe) {
			for _, e := range sfe {
				fmt.Fprintln(stderr, e.Error())
			}
			return fmt.Errorf("%d problem(s) in %s; nothing rendered", len(sfe), *from)
		}
		return err
	}
	d := render.DriverPJSIP
	if *driver == "sip" {
		d = render.DriverChanSIP
	}
	files, err := render.Render(snap, render.WithSIPDriver(d), render.WithTLSCertificate(*tlsCert, *tlsKey), render.WithCosts(costs),
		render.WithMedia(mediaPolicy(config.MediaConfig{Relay: *relay, Timeout: *mediaTimeout, HoldTimeout: *holdTimeout})), render.WithRealm(*realm))
	// Objects Asterisk cannot take are named and left out; the rest is
	// written (or checked), and the command still fails.
	partial := render.AsPartial(err)
	if err != nil && partial == nil {
		return fmt.Errorf("render: %w", err)
	}
	leftOut := func() error {
		if partial == nil {
			return nil
		}
		for _, sk := range partial.Skipped {
			fmt.Fprintf(stderr, "left out %s: %v\n", sk.Object, sk.Err)
		}
		return fmt.Errorf("render: %d objects left out of the rendered files", len(partial.Skipped))
	}
	if *check {
		diff, drift, err := render.Check(*out, files)
		if err != nil {
			return err
		}
		if drift {
			fmt.Fprint(stdout, diff)
			if err := leftOut(); err != nil {
				return err
			}
			return errDrift
		}
		return leftOut()
	}
	changed, err := render.WriteFiles(*out, files, writeOptions(*group)...)
	if err != nil {
		return err
	}
	if len(changed) == 0 {
		fmt.Fprintf(stdout, "%s: up to date (revision %d)\n", *out, snap.Revision)
	} else {
		fmt.Fprintf(stdout, "%s: wrote %s (revision %d)\n", *out, strings.Join(changed, ", "), snap.Revision)
	}
	return leftOut()
}

// loadSnapshot reads the switch from a database or a switch file.
// loadSnapshot reads the objects to render and, from a database, the
// peers' cost rows (a switch file holds none).
func loadSnapshot(ctx context.Context, db, from string) (*routing.Snapshot, []routing.PeerCost, error) {
	if from != "" {
		f, err := os.Open(from)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		snap, err := engine.LoadSwitchFile(f, from)
		return snap, nil, err
	}
	if _, err := os.Stat(db); err != nil {
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	store, err := storage.Open(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	defer store.Close()
	svc := engine.NewService(store)
	snap, err := svc.Snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	costs, err := svc.PeerCosts(ctx)
	if err != nil {
		return nil, nil, err
	}
	return snap, costs, nil
}
