package smdp

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Notification points of handleDownloadProgressInfo (SGP.22 5.3.5); 0–99
// are the spec's, 100 and up agreed between operator and SM-DP+.
const (
	PointEligibility  = 1 // eligibility and retry-limit check
	PointConfirmation = 2 // confirmation failure
	PointDownload     = 3 // bound profile package downloaded
	PointInstallation = 4 // bound profile package installed
)

// DownloadProgress is one handleDownloadProgressInfo: what the phone did
// with a profile, as the SM-DP+ saw it.
type DownloadProgress struct {
	ICCID       string
	EID         string
	ProfileType string
	At          time.Time
	Point       int
	Status      ExecutionStatus
}

// Succeeded reports whether the point was passed.
func (p DownloadProgress) Succeeded() bool {
	return p.Status.Status == StatusSuccess || p.Status.Status == StatusWithWarning
}

// ParseDownloadProgressInfo reads a handleDownloadProgressInfo body. It is
// lenient where real SM-DP+s differ from the letter of SGP.22 — `timeStamp`
// for `timestamp`, a notification point as a string, a time with an offset
// rather than Z, a 19-digit ICCID padded with F — and refuses a message
// that is really wrong: not JSON, a mandatory field missing or of the wrong
// shape, an unknown status.
func ParseDownloadProgressInfo(body []byte) (DownloadProgress, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return DownloadProgress{}, fmt.Errorf("not a JSON object: %w", err)
	}
	var p DownloadProgress
	str := func(key string, required bool) (string, error) {
		v, ok := raw[key]
		if !ok {
			if required {
				return "", fmt.Errorf("%s is missing", key)
			}
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("%s must be a string", key)
		}
		return strings.TrimSpace(s), nil
	}
	var err error
	if p.ICCID, err = str("iccid", true); err != nil {
		return p, err
	}
	// Older SGP.22 versions carried a 19-digit ICCID padded to 20 with F.
	if len(p.ICCID) == 20 && (p.ICCID[19] == 'F' || p.ICCID[19] == 'f') {
		p.ICCID = p.ICCID[:19]
	}
	if p.ProfileType, err = str("profileType", false); err != nil {
		return p, err
	}
	if p.EID, err = str("eid", false); err != nil {
		return p, err
	}
	tsKey := "timestamp"
	if _, ok := raw[tsKey]; !ok {
		tsKey = "timeStamp" // the spec's own example
	}
	ts, err := str(tsKey, true)
	if err != nil {
		return p, fmt.Errorf("timestamp: %w", err)
	}
	if p.At, err = time.Parse(time.RFC3339, ts); err != nil {
		return p, fmt.Errorf("timestamp must be a date-time such as 2026-12-07T13:05:00Z, not %q", ts)
	}
	p.At = p.At.UTC()
	point, ok := raw["notificationPointId"]
	if !ok {
		return p, fmt.Errorf("notificationPointId is missing")
	}
	if err := json.Unmarshal(point, &p.Point); err != nil {
		var s string
		if json.Unmarshal(point, &s) != nil {
			return p, fmt.Errorf("notificationPointId must be a whole number")
		}
		if p.Point, err = strconv.Atoi(strings.TrimSpace(s)); err != nil {
			return p, fmt.Errorf("notificationPointId must be a whole number, not %q", s)
		}
	}
	if p.Point < 0 {
		return p, fmt.Errorf("notificationPointId must not be negative")
	}
	status, ok := raw["notificationPointStatus"]
	if !ok {
		return p, fmt.Errorf("notificationPointStatus is missing")
	}
	if err := json.Unmarshal(status, &p.Status); err != nil {
		return p, fmt.Errorf("notificationPointStatus must be an object with status and statusCodeData")
	}
	switch p.Status.Status {
	case StatusSuccess, StatusWithWarning, StatusFailed, StatusExpired:
	default:
		return p, fmt.Errorf("notificationPointStatus.status must be Executed-Success, Executed-WithWarning, Failed or Expired, not %q", p.Status.Status)
	}
	return p, nil
}
