// Command gendb builds the load-test database through the engine (the code
// path behind the JSON API's create functions) and writes the SIPp
// injection file.
//
// The database holds three carrier peers (carrier1 127.0.0.2:5071,
// carrier2 127.0.0.3:5072, carrier3 127.0.0.4:5073; -carrier-port moves
// them), one rate plan with
// -routes routes whose called prefixes are "1" followed by four digits
// (peer1 carrier1, peer2 carrier2, peer3 carrier3), and -phones phones
// named 2000000, 2000001... on that plan. Which carrier answers is up to
// the SIPp UAS started on each address: the database is the same for the
// answer and the failover runs.
//
// The injection file has one line per call:
// phone;password;called;[authentication username=phone password=password],
// the called number inside a random route's prefix, or -called for every
// call: SIPp computes digest credentials for one fixed uri (-auth_uri), and
// the switch binds credentials to the Request-URI. The last field is how
// SIPp takes per-call credentials: a keyword inside a field is expanded when
// the scenario inserts the field ([field3]); [authentication] does not
// expand [fieldN] inside itself.
//
//	go run ./cmd/gendb -db /tmp/load.db -csv /tmp/calls.csv -calls 100000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// carriers are the peers the SIPp UASes impersonate: carrierN at
// 127.0.0.(N+1), port -carrier-port + N - 1.
var carriers = []string{"carrier1", "carrier2", "carrier3"}

func carrierDest(i, basePort int) string {
	return "127.0.0." + strconv.Itoa(i+2) + ":" + strconv.Itoa(basePort+i)
}

const (
	firstPhone    = 2000000
	adminPassword = "loadtest-admin"
)

func main() {
	db := flag.String("db", "", "database file to create (must not exist)")
	csvPath := flag.String("csv", "", "SIPp injection file to write (phone;password;called;[authentication ...] per line)")
	phones := flag.Int("phones", 1000, "phones to create")
	routes := flag.Int("routes", 10000, "routes to create (at most 10000)")
	calls := flag.Int("calls", 10000, "lines in the injection file")
	seed := flag.Uint64("seed", 1, "random seed of the injection file")
	called := flag.String("called", "", "called number of every call (default: random within the routes)")
	carrierPort := flag.Int("carrier-port", 5071, "port of carrier1 (carrier2 and carrier3 on the next ones): runs beside another load test need their own")
	outMax := flag.Int("outmaximum", -1, "outmaximum of the carrier peers (-1: unlimited; a limit makes every call take a slot, shared across hosts in a cluster)")
	totalMax := flag.Int("totalmaximum", -1, "totalmaximum of the phones (-1: unlimited)")
	flag.Parse()
	if err := run(*db, *csvPath, *phones, *routes, *calls, *seed, *called, *carrierPort, limits{peer: *outMax, phone: *totalMax}); err != nil {
		fmt.Fprintln(os.Stderr, "gendb:", err)
		os.Exit(1)
	}
}

func phoneName(i int) string     { return strconv.Itoa(firstPhone + i) }
func phonePassword(i int) string { return "pw" + strconv.Itoa(firstPhone+i) }
func routePrefix(i int) string   { return fmt.Sprintf("1%04d", i) }

// limits are the call limits the database gives its peers and phones.
type limits struct{ peer, phone int }

func run(dbPath, csvPath string, phones, routes, calls int, seed uint64, called string, carrierPort int, lim limits) error {
	switch {
	case phones <= 0:
		return errors.New("-phones must be positive")
	case routes <= 0 || routes > 10000:
		return errors.New("-routes must be 1..10000")
	case calls <= 0:
		return errors.New("-calls must be positive")
	case carrierPort <= 0 || carrierPort+len(carriers) > 65536:
		return errors.New("-carrier-port must be a port with two more after it")
	}
	if csvPath != "" {
		if err := writeCSV(csvPath, phones, routes, calls, seed, called); err != nil {
			return err
		}
	}
	if dbPath == "" {
		return nil
	}
	if _, err := os.Stat(dbPath); err == nil {
		return fmt.Errorf("-db %s: already exists", dbPath)
	}
	ctx := context.Background()
	start := time.Now()
	store, err := storage.Open(ctx, dbPath)
	if err != nil {
		return fmt.Errorf("open %s: %w", dbPath, err)
	}
	defer store.Close()
	svc := engine.NewService(store)
	if _, _, err := svc.Bootstrap(ctx, adminPassword); err != nil {
		return err
	}
	admin, err := svc.Authenticate(ctx, "admin", adminPassword)
	if err != nil {
		return fmt.Errorf("authenticate admin: %w", err)
	}
	kinds := svc.Kinds()
	create := func(kind string, v engine.Values) (int64, error) {
		id, err := svc.Create(ctx, admin, kinds[kind], v, false)
		if err != nil {
			return 0, fmt.Errorf("%s/create %v: %w", kind, v, err)
		}
		return id, nil
	}

	peerIDs := make([]string, len(carriers))
	for i, name := range carriers {
		id, err := create("peers", engine.Values{"name": name, "type": routing.PeerSIP, "destination": carrierDest(i, carrierPort), "outmaximum": strconv.Itoa(lim.peer)})
		if err != nil {
			return err
		}
		peerIDs[i] = strconv.FormatInt(id, 10)
	}
	planID, err := create("plans", engine.Values{"name": "loadtest"})
	if err != nil {
		return err
	}
	plan := strconv.FormatInt(planID, 10)
	for i := range routes {
		if _, err := create("plans/routes", engine.Values{
			"plan": plan, "called_prefix": routePrefix(i), "allow": "1",
			"peer1": peerIDs[0], "peer2": peerIDs[1], "peer3": peerIDs[2],
		}); err != nil {
			return err
		}
	}
	for i := range phones {
		if _, err := create("phones", engine.Values{"name": phoneName(i), "password": phonePassword(i), "plan": plan, "totalmaximum": strconv.Itoa(lim.phone)}); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "gendb: %s: %d peers, 1 plan, %d routes, %d phones in %s\n",
		dbPath, len(carriers), routes, phones, time.Since(start).Round(time.Millisecond))
	return nil
}

// writeCSV writes the SIPp injection file: SEQUENTIAL, one call per line,
// phones in turn, called numbers at random within the routes' prefixes
// unless called is set.
func writeCSV(path string, phones, routes, calls int, seed uint64, called string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("-csv: %w", err)
	}
	r := rand.New(rand.NewPCG(seed, 0))
	buf := make([]byte, 0, 1<<16)
	buf = append(buf, "SEQUENTIAL\n"...)
	for i := range calls {
		p := i % phones
		name, pw := phoneName(p), phonePassword(p)
		number := called
		if number == "" {
			number = fmt.Sprintf("%s%06d", routePrefix(r.IntN(routes)), r.IntN(1000000))
		}
		buf = fmt.Appendf(buf, "%s;%s;%s;[authentication username=%s password=%s]\n", name, pw, number, name, pw)
		if len(buf) > 60000 {
			if _, err := f.Write(buf); err != nil {
				f.Close()
				return fmt.Errorf("-csv: %w", err)
			}
			buf = buf[:0]
		}
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("-csv: %w", err)
	}
	return f.Close()
}
