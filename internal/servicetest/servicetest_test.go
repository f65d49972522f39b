package servicetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// childEnv makes the test binary a process that starts a Redis, prints
// its address and exits (TestStartedServerEndsWithTheProcess).
const childEnv = "SIPSWITCH_SERVICETEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "redis" {
		addr, err := StartRedis(context.Background())
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("addr", addr)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func requireInstalled(t *testing.T, program string) {
	t.Helper()
	if _, err := exec.LookPath(program); err != nil {
		if program == "initdb" {
			if _, err := postgresBin(); err == nil {
				return
			}
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (.ci/run installs it)", program)
		}
		t.Skipf("%s is not installed", program)
	}
}

// A PostgreSQL started for the tests takes what the migrations need: a
// schema of a test's own and the ICU collation of COLLATE NOCASE.
func TestStartPostgres(t *testing.T) {
	requireInstalled(t, "initdb")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	u, err := StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		`CREATE SCHEMA servicetest`,
		`CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`,
		`CREATE TABLE servicetest.t (name TEXT COLLATE nocase UNIQUE)`,
		`INSERT INTO servicetest.t VALUES ('Acme')`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO servicetest.t VALUES ('ACME')`); err == nil {
		t.Fatal("the nocase collation let ACME beside Acme")
	}
}

func TestStartRedis(t *testing.T) {
	requireInstalled(t, "redis-server")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr, err := StartRedis(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := pingRedis(ctx, addr); err != nil {
		t.Fatal(err)
	}
}

// A server started for a test process does not outlive it: the process
// that started it exits at once, and the server stops answering.
func TestStartedServerEndsWithTheProcess(t *testing.T) {
	requireInstalled(t, "redis-server")
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), childEnv+"=redis")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v (%s)", err, line)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "addr ")
	if !ok {
		t.Fatalf("child said %q", line)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pingRedis(context.Background(), addr) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the Redis the child started on %s still answers after the child ended", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
