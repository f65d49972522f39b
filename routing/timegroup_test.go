package routing

import (
	"strings"
	"testing"
	"time"
)

func TestTimePeriodActive(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	allDay := TimePeriod{EndHour: 23, EndMinute: 59}
	tests := []struct {
		name   string
		period TimePeriod
		now    time.Time
		want   bool
	}{
		{"all day", allDay, utc("2026-11-23 00:00"), true},
		{"all day last minute", allDay, utc("2026-11-23 23:59"), true},
		{"window start inclusive", TimePeriod{StartHour: 9, EndHour: 17}, utc("2026-11-23 09:00"), true},
		{"window end minute inclusive", TimePeriod{StartHour: 9, EndHour: 17, EndMinute: 30}, utc("2026-11-23 17:30"), true},
		{"window after end", TimePeriod{StartHour: 9, EndHour: 17, EndMinute: 30}, utc("2026-11-23 17:31"), false},
		{"window before start", TimePeriod{StartHour: 9, EndHour: 17}, utc("2026-11-23 08:59"), false},
		{"wrap: late evening", TimePeriod{StartHour: 22, EndHour: 6}, utc("2026-11-23 23:10"), true},
		{"wrap: early morning", TimePeriod{StartHour: 22, EndHour: 6}, utc("2026-11-24 05:59"), true},
		{"wrap: end minute", TimePeriod{StartHour: 22, EndHour: 6}, utc("2026-11-24 06:00"), true},
		{"wrap: day time", TimePeriod{StartHour: 22, EndHour: 6}, utc("2026-11-24 12:00"), false},
		{"start == end is the whole day", TimePeriod{StartHour: 12, EndHour: 12}, utc("2026-11-24 12:00"), true},
		{"start == end is the whole day, any minute", TimePeriod{StartHour: 12, EndHour: 12}, utc("2026-11-24 03:17"), true},
		{"00:00-00:00 is the whole day", TimePeriod{}, utc("2026-11-24 23:59"), true},
		{"monday on monday", TimePeriod{Days: "1", EndHour: 23, EndMinute: 59}, utc("2026-11-23 10:00"), true},
		{"monday on tuesday", TimePeriod{Days: "1", EndHour: 23, EndMinute: 59}, utc("2026-11-24 10:00"), false},
		{"sunday is 7", TimePeriod{Days: "7", EndHour: 23, EndMinute: 59}, utc("2026-11-29 10:00"), true},
		{"weekdays on saturday", TimePeriod{Days: "12345", EndHour: 23, EndMinute: 59}, utc("2026-11-28 10:00"), false},
		{"wrap checks the current day", TimePeriod{Days: "1", StartHour: 22, EndHour: 6}, utc("2026-11-24 02:00"), false},
		{"start date inclusive", TimePeriod{StartDate: "2026-12-24", EndHour: 23, EndMinute: 59}, utc("2026-12-24 00:00"), true},
		{"before start date", TimePeriod{StartDate: "2026-12-24", EndHour: 23, EndMinute: 59}, utc("2026-12-23 23:59"), false},
		{"end date inclusive", TimePeriod{EndDate: "2026-12-26", EndHour: 23, EndMinute: 59}, utc("2026-12-26 23:59"), true},
		{"after end date", TimePeriod{EndDate: "2026-12-26", EndHour: 23, EndMinute: 59}, utc("2026-12-27 00:00"), false},
		// 2026-11-23 03:00 UTC is 22:00 on Sunday the 22nd in New York (EST, UTC-5).
		{"zone shifts the day", TimePeriod{Days: "7", StartHour: 21, EndHour: 23, EndMinute: 59, Timezone: "America/New_York"}, utc("2026-11-23 03:00"), true},
		{"zone shifts the date", TimePeriod{EndDate: "2026-11-22", EndHour: 23, EndMinute: 59, Timezone: "America/New_York"}, utc("2026-11-23 03:00"), true},
		// DST: 09:00-17:00 New York is 13:00-21:00 UTC in summer (EDT), 14:00-22:00 in winter.
		{"EDT office hours", TimePeriod{StartHour: 9, EndHour: 17, Timezone: "America/New_York"}, utc("2026-07-01 13:30"), true},
		{"EST same UTC time", TimePeriod{StartHour: 9, EndHour: 17, Timezone: "America/New_York"}, utc("2026-12-01 13:30"), false},
		{"day of spring forward", TimePeriod{StartHour: 3, EndHour: 3, EndMinute: 59, Timezone: "America/New_York"}, time.Date(2026, 3, 8, 3, 30, 0, 0, ny), true},
		// Fall back: 01:00-01:59 New York happens twice on 2026-11-01, at 05:xx (EDT) and 06:xx (EST) UTC.
		{"fall back first 1:30", TimePeriod{StartHour: 1, EndHour: 1, EndMinute: 59, Timezone: "America/New_York"}, utc("2026-11-01 05:30"), true},
		{"fall back second 1:30", TimePeriod{StartHour: 1, EndHour: 1, EndMinute: 59, Timezone: "America/New_York"}, utc("2026-11-01 06:30"), true},
		{"fall back 2:00 EST", TimePeriod{StartHour: 1, EndHour: 1, EndMinute: 59, Timezone: "America/New_York"}, utc("2026-11-01 07:00"), false},
		{"UTC default", TimePeriod{StartHour: 23, EndHour: 23, EndMinute: 59}, time.Date(2026, 11, 23, 18, 30, 0, 0, ny), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gs, err := CompileTimeGroups([]TimeGroup{{ID: 1, Periods: []TimePeriod{tt.period}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := gs.Active(1, tt.now); got != tt.want {
				t.Errorf("Active(%s) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestTimeGroupActive(t *testing.T) {
	gs, err := CompileTimeGroups([]TimeGroup{
		{ID: 1, Periods: []TimePeriod{
			{Days: "12345", StartHour: 9, EndHour: 17},
			{Days: "6", StartHour: 10, EndHour: 12},
		}},
		{ID: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id   int
		now  time.Time
		want bool
	}{
		{1, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), true},  // Monday, first period
		{1, time.Date(2026, 11, 28, 11, 0, 0, 0, time.UTC), true},  // Saturday, second period
		{1, time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC), false}, // Saturday afternoon
		{1, time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC), false}, // Sunday
		{2, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), false}, // no periods
		{3, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), false}, // unknown
	}
	for _, tt := range tests {
		if got := gs.Active(tt.id, tt.now); got != tt.want {
			t.Errorf("group %d at %s: %v, want %v", tt.id, tt.now, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { gs.Active(1, tt0) }); n != 0 {
		t.Errorf("Active allocates %v times", n)
	}
}

var tt0 = time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC)

func TestCompileTimeGroupsErrors(t *testing.T) {
	if err := checkTimePeriod(TimePeriod{Days: "67", StartHour: 22, EndHour: 6, Timezone: "Europe/London", StartDate: "2026-01-01"}); err != nil {
		t.Errorf("valid period refused: %v", err)
	}
	tests := []struct {
		p    TimePeriod
		want string
	}{
		{TimePeriod{Days: "18"}, "days"},
		{TimePeriod{StartHour: 24}, "starthour"},
		{TimePeriod{EndMinute: 60}, "endminute"},
		{TimePeriod{StartDate: "2026-13-01"}, "startdate"},
		{TimePeriod{EndDate: "tomorrow"}, "enddate"},
		{TimePeriod{Timezone: "Nowhere/City"}, "timezone"},
	}
	for _, tt := range tests {
		if err := checkTimePeriod(tt.p); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("checkTimePeriod(%+v) = %v, want mention of %q", tt.p, err, tt.want)
		}
		_, err := CompileTimeGroups([]TimeGroup{{ID: 4, Periods: []TimePeriod{tt.p}}})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "time group 4") {
			t.Errorf("%+v: err %v, want mention of %q", tt.p, err, tt.want)
		}
	}
}
