package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Spend is a routing.SharedSpend in Redis: one hash per line and day,
// {prefix}:spend:<day>:<line>, a field per host holding what that host
// holds of the line that day (its ended calls' cost, its running calls'
// grants and its ringing attempts' reservations). The field is the
// host's name, not its boot nonce: a host that restarts writes the spend
// it restored from its own call records over what it held when it
// stopped. A day's hashes expire after two days. Only lines with a
// call_maximum reach it.
type Spend struct {
	rdb     redis.UniversalClient
	prefix  string
	host    string
	timeout time.Duration
	limits  *Limits // shares its reachability and failure count
}

// spendTTL keeps a day's spend past the day in any time zone.
const spendTTL = 50 * time.Hour

// holdScript sets this host's field of a line's hash when the sum over
// the hosts stays within the limit: KEYS[1] the hash; ARGV this host,
// its new holding, the limit (< 0: none), the TTL in seconds. Returns 1
// when written, 0 when it would pass the limit. Amounts are decimal
// millionths; half a millionth absorbs the doubles' rounding.
var holdScript = redis.NewScript(`
local limit = tonumber(ARGV[3])
if limit >= 0 then
  local total = tonumber(ARGV[2])
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if all[i] ~= ARGV[1] then
      total = total + (tonumber(all[i + 1]) or 0)
    end
  end
  if total > limit + 0.0000005 then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
`)

// NewSpend holds host's spend in the Redis of l (its client, prefix,
// timeout and reachability).
func NewSpend(l *Limits, host string) *Spend {
	return &Spend{rdb: l.rdb, prefix: l.prefix, host: host, timeout: l.timeout, limits: l}
}

func (s *Spend) key(day, line string) string { return "{" + s.prefix + "}:spend:" + day + ":" + line }

// Hold implements routing.SharedSpend: one script call, so the check of
// the other hosts' fields and the write of this host's are atomic.
func (s *Spend) Hold(day, line string, held, limit float64) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	n, err := holdScript.Run(ctx, s.rdb, []string{s.key(day, line)}, s.host,
		strconv.FormatFloat(held, 'f', -1, 64), strconv.FormatFloat(limit, 'f', -1, 64), int(spendTTL/time.Second)).Int()
	if err != nil {
		s.limits.failed("spend hold", err)
		return false, fmt.Errorf("hold spend of %s: %w", line, err)
	}
	s.limits.ok()
	return n == 1, nil
}

// Holdings is what each host holds of line on day, by host name.
func (s *Spend) Holdings(ctx context.Context, day, line string) (map[string]float64, error) {
	all, err := s.rdb.HGetAll(ctx, s.key(day, line)).Result()
	if err != nil {
		return nil, fmt.Errorf("spend of %s: %w", line, err)
	}
	out := make(map[string]float64, len(all))
	for host, v := range all {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("spend of %s on %s: %w", line, host, err)
		}
		out[host] = f
	}
	return out, nil
}
