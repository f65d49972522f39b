package engine

import (
	"errors"
	"fmt"
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
	if n, err := routing.NormalizeNumber(s); err == nil && n != s {
		// Dialled, it would be the number n: a line (a SIP user, an
		// extension) named so could be reached by one spelling and a
		// carrier by another.
		return fmt.Errorf("must not be a number written with separators: write %s", n)
	}
	return nil
}

// Numbers. Every parameter that holds a number is stored as its dial
// string (routing's "Dialled numbers": escapes decoded, the separators
// - . ( ) and spaces removed), so the SIP core, the rendered dialplan and
// simulation decide on the number a carrier would dial; what is then not a
// dial string is refused naming the parameter.

// prefixParam makes p a called or caller prefix: "" (every number), "+" or
// a dial string.
func prefixParam(p Param) Param {
	p.Canon = func(raw, _ string) (string, error) {
		n, err := routing.NormalizePrefix(raw)
		if err != nil {
			return "", errors.New("must be empty or " + routing.NumberRule)
		}
		return n, nil
	}
	return p
}

// numberOrWords makes p a caller id: one of words (kept as given) or a
// number (its dial string); "" when emptyOK.
func numberOrWords(p Param, emptyOK bool, words ...string) Param {
	p.Canon = func(raw, _ string) (string, error) {
		if contains(words, raw) || raw == "" && emptyOK {
			return raw, nil
		}
		if n, err := routing.NormalizeNumber(raw); err == nil {
			return n, nil
		}
		if len(words) == 0 {
			return "", errors.New("must be " + routing.NumberRule + ", or empty")
		}
		return "", fmt.Errorf("must be %s, or one of %s", routing.NumberRule, quoteList(words))
	}
	return p
}

// destinationParam makes p a destination: a number (its dial string) or
// the name of a line, which checkLineReferences then requires to be one
// the caller may read. A name made only of digits and separators is a
// number, so no line can be named by a number's spelling (checkName).
func destinationParam(p Param) Param {
	p.Canon = func(raw, _ string) (string, error) {
		if n, err := routing.NormalizeNumber(raw); err == nil {
			return n, nil
		}
		return raw, nil
	}
	p.Check = func(s string) error {
		if s != "" && !routing.IsDialString(s) && !nameRE.MatchString(s) {
			return errors.New("must be " + routing.NumberRule + ", or the name of a line")
		}
		return nil
	}
	return p
}

// checkExtension is a registration's extension (the user part of the
// contact a carrier sends calls to): a number or a name.
var extensionRE = regexp.MustCompile(`^[A-Za-z0-9*#+_.-]{1,64}$`)

func checkExtension(s string) error {
	if s != "" && !extensionRE.MatchString(s) {
		return errors.New("must be a number or name of at most 64 characters (0-9, letters, * # + _ . -)")
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
		return fmt.Errorf("must be host[:port] separated by commas (sips:host or host;transport=tls|tcp for SIP over TLS or TCP, the same for every host): %w", err)
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

// sourceParam makes p a line's source: IP addresses and CIDR networks
// (routing.ParseSource, the reading the renderer and the SIP core share),
// stored in canonical form (192.0.2.0/24, hosts without /32, separated by
// commas).
func sourceParam(p Param) Param {
	p.Canon = func(raw, _ string) (string, error) {
		nets, err := routing.ParseSource(raw)
		if err != nil {
			return "", fmt.Errorf("must be IP addresses or CIDR networks (such as 192.0.2.10 or 192.168.10.0/24) separated by commas, at most %d: %s", routing.MaxSources, strings.TrimPrefix(err.Error(), routing.ErrSource.Error()+": "))
		}
		return routing.FormatSource(nets), nil
	}
	return p
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

// checkCodec is a line's preferred codec: one of routing.KnownCodecs, or
// "" for none.
func checkCodec(s string) error {
	if s != "" && !contains(routing.KnownCodecs, s) {
		return fmt.Errorf("must be a codec name (%s)", strings.Join(routing.KnownCodecs, ", "))
	}
	return nil
}

// checkCodecListOrEmpty is a line's codecs: "" for any codec.
func checkCodecListOrEmpty(s string) error {
	_, err := routing.CheckCodecs(s)
	return err
}

// checkCodecList is a peer's codecs: at least one (routing.CheckCodecs,
// the syntax the SIP core and the renderer read).
func checkCodecList(s string) error {
	list, err := routing.CheckCodecs(s)
	if err == nil && len(list) == 0 {
		return errors.New("must list at least one codec")
	}
	return err
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
