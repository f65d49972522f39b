package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Spend is a routing.SharedSpend in Redis: one hash per line and day,
// {prefix}:spend:<day>:<line>, a field per host holding that host's spend
// of the line that day (its ended calls and its running ones as last
// priced). The field is the host's name, not its boot nonce: a host that
// restarts publishes the spend it restored from its own call records over
// the estimate it held when it stopped. A day's hashes expire after two
// days. Only lines with a call_maximum reach it.
type Spend struct {
	rdb     redis.UniversalClient
	prefix  string
	host    string
	timeout time.Duration
	limits  *Limits // shares its reachability and failure count
}

// spendTTL keeps a day's spend past the day in any time zone.
const spendTTL = 50 * time.Hour

// NewSpend holds host's spend in the Redis of l (its client, prefix,
// timeout and reachability).
func NewSpend(l *Limits, host string) *Spend {
	return &Spend{rdb: l.rdb, prefix: l.prefix, host: host, timeout: l.timeout, limits: l}
}

func (s *Spend) key(day, line string) string { return "{" + s.prefix + "}:spend:" + day + ":" + line }

// Publish implements routing.SharedSpend.
func (s *Spend) Publish(day, line string, spent float64) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	k := s.key(day, line)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, s.host, strconv.FormatFloat(spent, 'f', -1, 64))
		p.Expire(ctx, k, spendTTL)
		return nil
	})
	if err != nil {
		s.limits.failed("spend publish", err)
		return fmt.Errorf("publish spend of %s: %w", line, err)
	}
	s.limits.ok()
	return nil
}

// Others implements routing.SharedSpend.
func (s *Spend) Others(day, line string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	all, err := s.rdb.HGetAll(ctx, s.key(day, line)).Result()
	if err != nil {
		s.limits.failed("spend read", err)
		return 0, fmt.Errorf("spend of %s: %w", line, err)
	}
	s.limits.ok()
	total := 0.0
	for host, v := range all {
		if host == s.host {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			total += f
		}
	}
	return total, nil
}
