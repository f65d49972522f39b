package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // time groups name IANA zones; a switch host may lack /usr/share/zoneinfo

	"github.com/sipswitch/sipswitch/routing"
)

// Parameter checks. Each returns an error whose text completes the sentence
// "<param> ...", so API messages read "name must ...".

// Names become Asterisk section names, dial-string parts and context names
// (phone-<name>), so they are held to what every one of those accepts,
// rather than escaped into something surprising. 64 leaves room under
// Asterisk's 79-character category limit for the longest prefix we add.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$`)

func checkName(s string) error {
	if s == "" {
		return nil // emptiness is the Required rule's job
	}
	if !nameRE.MatchString(s) {
		return errors.New("must be 1-64 characters of letters, digits, '_', '.', '+' or '-', starting with a letter or digit")
	}
	return nil
}

func checkPrefix(s string) error {
	if !routing.ValidPrefix(s) {
		return fmt.Errorf("must be at most %d of the characters 0-9, *, # and +", routing.MaxPrefixLen)
	}
	return nil
}

// checkNumber accepts a dialable number or a local line name: what a
// destination field (bnumber, forwarding...) may hold.
var numberRE = regexp.MustCompile(`^[A-Za-z0-9*#+_.-]{1,64}$`)

func checkNumber(s string) error {
	if s != "" && !numberRE.MatchString(s) {
		return errors.New("must be a number or line name of at most 64 characters (0-9, letters, * # + _ . -)")
	}
	return nil
}

// checkCallerIDText is for strings presented as caller id (callerid_unknown
// "Anonymous"): they end up inside CALLERID() and From headers.
var callerIDTextRE = regexp.MustCompile(`^[A-Za-z0-9*#+_. -]{0,64}$`)

func checkCallerIDText(s string) error {
	if !callerIDTextRE.MatchString(s) {
		return errors.New("must be at most 64 letters, digits, spaces or * # + _ . -")
	}
	return nil
}

// checkText rejects what would break a config file line or a log line.
func checkText(s string) error {
	if len(s) > 1024 {
		return errors.New("must be at most 1024 characters")
	}
	return nil
}

func checkHostList(s string) error {
	hosts, err := routing.ParseDestinations(s)
	if err != nil {
		return fmt.Errorf("must be host[:port] separated by commas: %w", err)
	}
	if len(hosts) > 16 {
		return errors.New("must list at most 16 hosts")
	}
	return nil
}

func checkHost(s string) error {
	if s == "" {
		return nil
	}
	if _, err := routing.ParseHostPort(s); err != nil {
		return fmt.Errorf("must be host[:port]: %w", err)
	}
	return nil
}

func checkIPAddr(s string) error {
	if s == "" {
		return nil
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return errors.New("must be an IP address")
	}
	return nil
}

func checkURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http or https URL")
	}
	return nil
}

// Codecs are the names Asterisk's format_cap accepts that a switch uses.
var knownCodecs = []string{"alaw", "g722", "g723", "g726", "g726aal2", "g729", "gsm", "ilbc", "lpc10", "opus", "slin", "slin16", "speex", "speex16", "speex32", "ulaw"}

func checkCodec(s string) error {
	if s != "" && !contains(knownCodecs, s) {
		return fmt.Errorf("must be a codec name (%s)", strings.Join(knownCodecs, ", "))
	}
	return nil
}

func checkCodecList(s string) error {
	if s == "" {
		return errors.New("must list at least one codec")
	}
	seen := map[string]bool{}
	for c := range strings.SplitSeq(s, ",") {
		c = strings.TrimSpace(c)
		if !contains(knownCodecs, c) {
			return fmt.Errorf("has unknown codec %q; known: %s", clip(c), strings.Join(knownCodecs, ", "))
		}
		if seen[c] {
			return fmt.Errorf("lists codec %q twice", c)
		}
		seen[c] = true
	}
	return nil
}

// checkOneOfOrNumber allows a keyword from words or a caller-id number.
func checkOneOfOrNumber(words ...string) func(string) error {
	return func(s string) error {
		if contains(words, s) || (s != "" && routing.ValidPrefix(s)) || (s == "" && len(words) == 0) {
			return nil
		}
		if len(words) == 0 {
			return errors.New("must be a number (0-9, *, #, +) or empty")
		}
		return fmt.Errorf("must be a number or one of %s", quoteList(words))
	}
}

func checkDays(s string) error {
	seen := [8]bool{}
	for i := 0; i < len(s); i++ {
		d := s[i]
		if d < '1' || d > '7' || seen[d-'0'] {
			return errors.New("must be weekday digits 1 (Monday) to 7 (Sunday), each at most once")
		}
		seen[d-'0'] = true
	}
	return nil
}

func checkDate(s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse("2006-01-02", s); err != nil {
		return errors.New("must be a date YYYY-MM-DD or empty")
	}
	return nil
}

func checkTimezone(s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.LoadLocation(s); err != nil || s == "Local" {
		return errors.New("must be an IANA time zone name such as Europe/London")
	}
	return nil
}

var languageRE = regexp.MustCompile(`^([a-z]{2,3}([_-][A-Za-z0-9]{2,8})?)?$`)

func checkLanguage(s string) error {
	if !languageRE.MatchString(s) {
		return errors.New("must be a language code such as en or en_GB")
	}
	return nil
}

var mailboxRE = regexp.MustCompile(`^([A-Za-z0-9_.+-]{1,64}(@[A-Za-z0-9_-]{1,64})?)?$`)

func checkMailbox(s string) error {
	if !mailboxRE.MatchString(s) {
		return errors.New("must be a mailbox number, optionally @context")
	}
	return nil
}

func checkDigits(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return errors.New("must be digits only")
		}
	}
	if len(s) > 16 {
		return errors.New("must be at most 16 digits")
	}
	return nil
}

var currencyRE = regexp.MustCompile(`^([A-Z]{3})?$`)

func checkCurrency(s string) error {
	if !currencyRE.MatchString(s) {
		return errors.New("must be a three-letter ISO 4217 code such as USD, or empty for the default")
	}
	return nil
}

// checkSecret: a SIP password that is short or equal to the user name is
// how switches get defrauded.
func checkSecret(s string) error {
	if s == "" {
		return nil
	}
	if len(s) < 6 || len(s) > 128 {
		return errors.New("must be 6 to 128 characters")
	}
	if strings.ContainsAny(s, " \t\"';\\") {
		return errors.New("must not contain spaces, quotes, ';' or '\\'")
	}
	return nil
}

// checkCredential is for usernames/passwords sent to carriers: anything a
// config value and a digest header can carry.
func checkCredential(s string) error {
	if len(s) > 128 || strings.ContainsAny(s, " \t\"';\\") {
		return errors.New("must be at most 128 characters without spaces, quotes, ';' or '\\'")
	}
	return nil
}
