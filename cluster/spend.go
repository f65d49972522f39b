package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipswitch/sipswitch/routing"
)

// Spend is a routing.SharedSpend in Redis: one hash per line and day,
// {prefix}:spend:<day>:<line>, a field per host holding what that host
// holds of the line that day (its ended calls' cost, its running calls'
// grants and its ringing attempts' reservations). The field is the
// host's name, not its boot nonce: a host that restarts writes the spend
// it restored from its own call records over what it held when it
// stopped. A day's hashes expire after two days. Only lines with a
// call_maximum reach it. Limits.Admit writes the same hashes, with an
// attempt's slots.
type Spend struct {
	rdb    redis.UniversalClient
	limits *Limits // its client, prefix, host, timeout and reachability
}

// spendTTL keeps a day's spend past the day in any time zone.
const spendTTL = 50 * time.Hour

// spendTTLArg is spendTTL in seconds, boxed once as a script argument.
var spendTTLArg any = int64(spendTTL / time.Second)

// NewSpend holds the spend of l's host in the Redis of l (its client,
// prefix, timeout and reachability).
func NewSpend(l *Limits) *Spend { return &Spend{rdb: l.rdb, limits: l} }

func (l *Limits) spendKey(day, line string) string {
	return "{" + l.prefix + "}:spend:" + day + ":" + line
}

// formatAmount writes an amount as the scripts read it.
func formatAmount(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Hold implements routing.SharedSpend: one script call, so the check of
// the other hosts' fields and the write of this host's are atomic (the
// admission script without slots).
func (s *Spend) Hold(day, line string, held, limit float64) (bool, error) {
	req := routing.SharedAdmission{Spend: routing.SpendHold{Day: day, Line: line, Held: held, Limit: limit}}
	got, err := s.limits.Admit(&req)
	if err != nil {
		return false, fmt.Errorf("hold spend of %s: %w", line, err)
	}
	return got.Refused == routing.AdmitOK, nil
}

// Holdings is what each host holds of line on day, by host name.
func (s *Spend) Holdings(ctx context.Context, day, line string) (map[string]float64, error) {
	key := s.limits.spendKey(day, line)
	all, err := s.rdb.HGetAll(ctx, key).Result()
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
