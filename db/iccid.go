package db

import "fmt"

// IMSIProfiles are the IMSI profiles the inventory holds.
var IMSIProfiles = []int{2, 7, 10}

// ValidIMSIProfile reports whether p is one of IMSIProfiles.
func ValidIMSIProfile(p int) bool {
	for _, q := range IMSIProfiles {
		if p == q {
			return true
		}
	}
	return false
}

// CheckICCID explains what is wrong with an ICCID, or returns nil: 19 or 20
// digits, starting with the telecom prefix 89, ending in a Luhn check digit.
// The explanation is a refusal (ErrInvalid) of the field "iccid".
func CheckICCID(iccid string) error {
	if n := len(iccid); n < 19 || n > 20 {
		return refuse(ErrInvalid, "iccid", fmt.Sprintf("ICCID must have 19 or 20 digits, not %d", n))
	}
	for _, r := range iccid {
		if r < '0' || r > '9' {
			return refuse(ErrInvalid, "iccid", "ICCID must contain only digits")
		}
	}
	if iccid[:2] != "89" {
		return refuse(ErrInvalid, "iccid", "ICCID must start with 89")
	}
	if LuhnDigit(iccid[:len(iccid)-1]) != iccid[len(iccid)-1] {
		return refuse(ErrInvalid, "iccid", "ICCID check digit is wrong")
	}
	return nil
}

// LuhnDigit returns the Luhn check digit for a string of digits.
func LuhnDigit(digits string) byte {
	sum := 0
	double := true // the digit next to the check digit is doubled
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}
