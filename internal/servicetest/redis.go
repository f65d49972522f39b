package servicetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedis is the Redis server the tests use when the environment
// names none and it answers.
const DefaultRedis = "127.0.0.1:6379"

var redisServer = &server{name: "Redis", env: "SIPSWITCH_TEST_REDIS", find: findRedis}

func findRedis(ctx context.Context, named string) (string, error) {
	if named != "" {
		if err := pingRedis(ctx, named); err != nil {
			return "", fmt.Errorf("%w: Redis at %s (SIPSWITCH_TEST_REDIS): %v", ErrUnavailable, named, err)
		}
		return named, nil
	}
	reason := pingRedis(ctx, DefaultRedis)
	if reason == nil {
		return DefaultRedis, nil
	}
	addr, err := StartRedis(ctx)
	if err != nil {
		return "", unavailable("Redis", DefaultRedis, err,
			"install Redis (apt-get install redis-server), start it (scripts/services.sh), or name one in SIPSWITCH_TEST_REDIS=host:port")
	}
	return addr, nil
}

func pingRedis(ctx context.Context, addr string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return rdb.Ping(ctx).Err()
}

// StartRedis runs a redis-server for this test process on a free loopback
// port, keeping nothing on disk, and returns its address; it ends with
// the process.
func StartRedis(ctx context.Context) (string, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server is not installed")
	}
	port, err := freeTCPPort()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	cmd := exec.Command(path, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no", "--dir", os.TempDir())
	if err := startChild(cmd, syscall.SIGKILL); err != nil {
		return "", fmt.Errorf("start redis-server: %w", err)
	}
	exited := reap(cmd)
	if err := waitUntil(ctx, exited, func(ctx context.Context) error { return pingRedis(ctx, addr) }); err != nil {
		cmd.Process.Kill()
		return "", fmt.Errorf("redis-server on %s: %w", addr, err)
	}
	return addr, nil
}
