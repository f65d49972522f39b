package engine

import (
	"errors"
	"strings"
	"unicode"
)

// A line's emergency address (phones/create emergency_*): the civic
// address its emergency calls carry as a PIDF-LO (RFC 5491; see the sip
// package and routing/emergency.go). The checks keep each element fit for
// an XML document and a carrier's location database: printable text of
// bounded length, and a country the PIDF-LO's <country> may hold.

// maxAddressElement bounds each address element. INFERRED: a street line
// or city of more than 128 characters is a mistake; NENA and RFC 5139 set
// no length, carriers' databases do (often 60 to 100).
const maxAddressElement = 128

// checkAddressElement accepts printable text of at most
// maxAddressElement characters (no control characters, which XML 1.0
// cannot carry).
func checkAddressElement(s string) error {
	if len([]rune(s)) > maxAddressElement {
		return errors.New("must be at most 128 characters")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return errors.New("must be printable text (no control characters)")
		}
	}
	return nil
}

// checkLocationCode accepts an emergency location code (an ELIN or a
// carrier's location id, INFERRED: letters, digits and - _ . + of at most
// 64 characters).
func checkLocationCode(s string) error {
	if len(s) > 64 {
		return errors.New("must be at most 64 characters")
	}
	for _, r := range s {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.+", r))) {
			return errors.New("must be letters, digits and - _ . + only")
		}
	}
	return nil
}

// countryParam makes p an ISO 3166-1 alpha-2 country code (RFC 4119's
// civicAddress <country>), stored upper case; "" none.
func countryParam(p Param) Param {
	p.Canon = func(raw, _ string) (string, error) {
		c := strings.ToUpper(strings.TrimSpace(raw))
		if c == "" {
			return "", nil
		}
		if len(c) != 2 || !strings.Contains(iso3166Alpha2, " "+c+" ") {
			return "", errors.New("must be an ISO 3166-1 alpha-2 country code such as GB, US or DE")
		}
		return c, nil
	}
	return p
}

// hasEmergencyAddress reports whether v gives any element of an emergency
// address but the country (which it then requires).
func hasEmergencyAddress(v Values) bool {
	for _, k := range []string{"emergency_address1", "emergency_address2", "emergency_address3", "emergency_address_city",
		"emergency_address_state", "emergency_address_code", "emergency_address_other", "emergency_location_code"} {
		if v[k] != "" {
			return true
		}
	}
	return false
}

// iso3166Alpha2 are the officially assigned ISO 3166-1 alpha-2 codes,
// space separated with a space at each end.
const iso3166Alpha2 = " AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ" +
	" BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ" +
	" CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ" +
	" DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR" +
	" GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY" +
	" HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP" +
	" KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY" +
	" MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ" +
	" NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA" +
	" RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ" +
	" TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ" +
	" VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW "
