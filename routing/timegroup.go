package routing

import (
	"fmt"
	"time"
)

// compiledGroup is a TimeGroup ready to be evaluated without allocating.
type compiledGroup struct {
	id      int
	periods []compiledPeriod
}

type compiledPeriod struct {
	loc       *time.Location
	days      uint8 // bit d set: ISO weekday d (Monday=1..Sunday=7) allowed
	startMin  int16 // minute of day, inclusive
	endMin    int16 // minute of day, inclusive; < startMin wraps midnight
	startDate int32 // yyyymmdd inclusive; 0 = unbounded
	endDate   int32 // yyyymmdd inclusive; 0 = unbounded
}

// allDays is the days mask of Days "" and "1234567".
const allDays = 0b1111_1110

// TimeGroupSet is a compiled set of time groups, keyed by id.
type TimeGroupSet struct {
	groups []compiledGroup
	index  map[int]int32
}

// CompileTimeGroups checks every period and loads its time zone once, so
// that Active does no parsing and no allocation.
func CompileTimeGroups(groups []TimeGroup) (*TimeGroupSet, error) {
	s := &TimeGroupSet{groups: make([]compiledGroup, 0, len(groups)), index: make(map[int]int32, len(groups))}
	locs := map[string]*time.Location{"": time.UTC}
	for _, g := range groups {
		if _, dup := s.index[g.ID]; dup {
			return nil, fmt.Errorf("time group %d: duplicate id", g.ID)
		}
		cg := compiledGroup{id: g.ID, periods: make([]compiledPeriod, 0, len(g.Periods))}
		for _, p := range g.Periods {
			cp, err := compilePeriod(p, locs)
			if err != nil {
				return nil, fmt.Errorf("time group %d period %d: %w", g.ID, p.ID, err)
			}
			cg.periods = append(cg.periods, cp)
		}
		s.index[g.ID] = int32(len(s.groups))
		s.groups = append(s.groups, cg)
	}
	return s, nil
}

// checkTimePeriod reports the first field of p the engine cannot use,
// naming the API parameter; the API checks periods with it so that a stored
// period always compiles.
func checkTimePeriod(p TimePeriod) error {
	_, err := compilePeriod(p, map[string]*time.Location{"": time.UTC})
	return err
}

func compilePeriod(p TimePeriod, locs map[string]*time.Location) (compiledPeriod, error) {
	var cp compiledPeriod
	loc, ok := locs[p.Timezone]
	if !ok {
		var err error
		loc, err = time.LoadLocation(p.Timezone)
		if err != nil {
			return cp, fmt.Errorf("timezone %q: %w", p.Timezone, err)
		}
		locs[p.Timezone] = loc
	}
	cp.loc = loc
	days, err := parseDays(p.Days)
	if err != nil {
		return cp, err
	}
	cp.days = days
	if err := checkClock("starthour", p.StartHour, "startminute", p.StartMinute); err != nil {
		return cp, err
	}
	if err := checkClock("endhour", p.EndHour, "endminute", p.EndMinute); err != nil {
		return cp, err
	}
	cp.startMin = int16(p.StartHour*60 + p.StartMinute)
	cp.endMin = int16(p.EndHour*60 + p.EndMinute)
	if cp.startDate, err = parseDate("startdate", p.StartDate); err != nil {
		return cp, err
	}
	if cp.endDate, err = parseDate("enddate", p.EndDate); err != nil {
		return cp, err
	}
	return cp, nil
}

// parseDays turns a string of ISO weekday digits into a mask; "" is every day.
func parseDays(days string) (uint8, error) {
	if days == "" {
		return allDays, nil
	}
	var mask uint8
	for i := 0; i < len(days); i++ {
		c := days[i]
		if c < '1' || c > '7' {
			return 0, fmt.Errorf("days %q: want weekday digits 1 (Monday) to 7 (Sunday)", days)
		}
		mask |= 1 << (c - '0')
	}
	return mask, nil
}

func checkClock(hname string, h int, mname string, m int) error {
	if h < 0 || h > 23 {
		return fmt.Errorf("%s %d: want 0..23", hname, h)
	}
	if m < 0 || m > 59 {
		return fmt.Errorf("%s %d: want 0..59", mname, m)
	}
	return nil
}

func parseDate(name, s string) (int32, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want YYYY-MM-DD", name, s)
	}
	y, m, d := t.Date()
	return int32(y*10000 + int(m)*100 + d), nil
}

// Active reports whether the group with id is active at now. Unknown ids
// and groups without periods are never active.
func (s *TimeGroupSet) Active(id int, now time.Time) bool {
	if s == nil {
		return false
	}
	i, ok := s.index[id]
	if !ok {
		return false
	}
	return s.groups[i].active(now)
}

// lookupIndex returns the internal index of group id, or -1.
func (s *TimeGroupSet) lookupIndex(id int) int32 {
	if s == nil {
		return -1
	}
	if i, ok := s.index[id]; ok {
		return i
	}
	return -1
}

func (s *TimeGroupSet) activeIndex(i int32, now time.Time) bool {
	if i < 0 {
		return false
	}
	return s.groups[i].active(now)
}

func (g *compiledGroup) active(now time.Time) bool {
	for i := range g.periods {
		if g.periods[i].active(now) {
			return true
		}
	}
	return false
}

func (p *compiledPeriod) active(now time.Time) bool {
	lt := now.In(p.loc)
	y, m, d := lt.Date()
	date := int32(y*10000 + int(m)*100 + d)
	if p.startDate != 0 && date < p.startDate || p.endDate != 0 && date > p.endDate {
		return false
	}
	if !dayAllowed(p.days, lt.Weekday()) {
		return false
	}
	h, mi, _ := lt.Clock()
	return inWindow(int16(h*60+mi), p.startMin, p.endMin)
}

func dayAllowed(mask uint8, wd time.Weekday) bool {
	iso := uint(wd)
	if iso == 0 {
		iso = 7
	}
	return mask&(1<<iso) != 0
}

// inWindow reports whether minute lies in start..end, both inclusive; a
// window whose start is after its end wraps midnight, and one that ends
// where it starts is the whole day.
func inWindow(minute, start, end int16) bool {
	if start == end {
		return true // a window that ends where it starts is the whole day
	}
	if start < end {
		return minute >= start && minute <= end
	}
	return minute >= start || minute <= end
}
