// Package smdp speaks GSMA ES2+ (SGP.22 v2.2, sections 5.3 and 6.1–6.5) to
// the carrier's SM-DP+: the client of the four functions the operator calls,
// the reading of the SM-DP+'s handleDownloadProgressInfo notifications, and
// the worker that releases each allocated eSIM's profile before its QR email
// goes out. Package smdptest is an SM-DP+ to test against.
package smdp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Protocol is the X-Admin-Protocol the portal sends: the highest SGP.22
// version it speaks.
const Protocol = "gsma/rsp/v2.2.0"

// ProtocolHeader is the header that names the sender's SGP.22 version.
const ProtocolHeader = "X-Admin-Protocol"

// PathPrefix is where every ES2+ function is posted, followed by its name.
const PathPrefix = "/gsma/rsp2/es2plus/"

// The ES2+ functions.
const (
	FuncDownloadOrder              = "downloadOrder"
	FuncConfirmOrder               = "confirmOrder"
	FuncCancelOrder                = "cancelOrder"
	FuncReleaseProfile             = "releaseProfile"
	FuncHandleDownloadProgressInfo = "handleDownloadProgressInfo"
)

// The values of functionExecutionStatus.status.
const (
	StatusSuccess     = "Executed-Success"
	StatusWithWarning = "Executed-WithWarning"
	StatusFailed      = "Failed"
	StatusExpired     = "Expired"
)

var (
	protocolPattern   = regexp.MustCompile(`^gsma/rsp/v2\.\d+\.\d+$`)
	matchingIDPattern = regexp.MustCompile(`^[0-9A-Z-]{1,255}$`)
)

// ValidMatchingID reports whether s is a MatchingID: only 0-9, A-Z and -.
func ValidMatchingID(s string) bool { return matchingIDPattern.MatchString(s) }

// ProtocolAccepted reports whether a peer's X-Admin-Protocol is one the
// portal answers: any SGP.22 v2 version, since a peer names its own highest.
func ProtocolAccepted(v string) bool { return protocolPattern.MatchString(strings.TrimSpace(v)) }

// RequestHeader opens every ES2+ request.
type RequestHeader struct {
	FunctionRequesterIdentifier string `json:"functionRequesterIdentifier"`
	FunctionCallIdentifier      string `json:"functionCallIdentifier"`
}

// StatusCodeData says why a function failed.
type StatusCodeData struct {
	SubjectCode       string `json:"subjectCode"`
	ReasonCode        string `json:"reasonCode"`
	SubjectIdentifier string `json:"subjectIdentifier,omitempty"`
	Message           string `json:"message,omitempty"`
}

// Code is "subjectCode/reasonCode", as the spec's tables write it.
func (d StatusCodeData) Code() string { return d.SubjectCode + "/" + d.ReasonCode }

// ExecutionStatus is a function's outcome (and a notification point's).
type ExecutionStatus struct {
	Status         string          `json:"status"`
	StatusCodeData *StatusCodeData `json:"statusCodeData,omitempty"`
}

// ResponseHeader opens every ES2+ response.
type ResponseHeader struct {
	FunctionExecutionStatus ExecutionStatus `json:"functionExecutionStatus"`
}

// DownloadOrderRequest asks the SM-DP+ to allocate a profile.
type DownloadOrderRequest struct {
	Header      RequestHeader `json:"header"`
	EID         string        `json:"eid,omitempty"`
	ICCID       string        `json:"iccid,omitempty"`
	ProfileType string        `json:"profileType,omitempty"`
}

// DownloadOrderResponse names the profile allocated.
type DownloadOrderResponse struct {
	Header ResponseHeader `json:"header"`
	ICCID  string         `json:"iccid,omitempty"`
}

// ConfirmOrderRequest confirms an allocated profile and, with ReleaseFlag,
// releases it for download.
type ConfirmOrderRequest struct {
	Header           RequestHeader `json:"header"`
	ICCID            string        `json:"iccid"`
	EID              string        `json:"eid,omitempty"`
	MatchingID       string        `json:"matchingId,omitempty"`
	ConfirmationCode string        `json:"confirmationCode,omitempty"`
	SMDSAddress      string        `json:"smdsAddress,omitempty"`
	ReleaseFlag      bool          `json:"releaseFlag"`
}

// ConfirmOrderResponse says under which MatchingID and SM-DP+ address the
// profile can be downloaded.
type ConfirmOrderResponse struct {
	Header      ResponseHeader `json:"header"`
	EID         string         `json:"eid,omitempty"`
	MatchingID  string         `json:"matchingId,omitempty"`
	SMDPAddress string         `json:"smdpAddress,omitempty"`
}

// Values of cancelOrder's finalProfileStatusIndicator.
const (
	FinalAvailable   = "Available"
	FinalUnavailable = "Unavailable"
)

// CancelOrderRequest takes back a profile allocated and not yet downloaded.
type CancelOrderRequest struct {
	Header                      RequestHeader `json:"header"`
	ICCID                       string        `json:"iccid"`
	EID                         string        `json:"eid,omitempty"`
	MatchingID                  string        `json:"matchingId,omitempty"`
	FinalProfileStatusIndicator string        `json:"finalProfileStatusIndicator"`
}

// ReleaseProfileRequest releases a confirmed profile.
type ReleaseProfileRequest struct {
	Header RequestHeader `json:"header"`
	ICCID  string        `json:"iccid"`
}

// EmptyResponse is the answer of cancelOrder and releaseProfile.
type EmptyResponse struct {
	Header ResponseHeader `json:"header"`
}

// Marshal encodes an ES2+ body, escaping only what JSON requires (SGP.22
// 6.5): encoding/json would also escape <, > and &.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// StatusError is a function the SM-DP+ answered Failed or Expired: it did
// not happen, and trying it again will not change that.
type StatusError struct {
	Function string
	Status   string // Failed or Expired
	StatusCodeData
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("smdp: %s: %s %s", e.Function, e.Status, e.Code())
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is reports whether the failure has the subject and reason codes of
// target: errors.Is(err, &StatusError{StatusCodeData: ProfileInUse}).
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t.Function == "" && t.SubjectCode == e.SubjectCode && t.ReasonCode == e.ReasonCode
}

// TransportError is a call whose outcome is unknown: a timeout, a broken
// connection, an HTTP status other than 200, an answer that is not ES2+.
// The SM-DP+ may or may not have acted on it.
type TransportError struct {
	Function string
	Err      error
}

func (e *TransportError) Error() string { return fmt.Sprintf("smdp: %s: %v", e.Function, e.Err) }
func (e *TransportError) Unwrap() error { return e.Err }

// Status codes the portal acts on (ES2PLUS.md).
var (
	ICCIDUnknown       = StatusCodeData{SubjectCode: "8.2.1", ReasonCode: "3.9"}
	NotAllowed         = StatusCodeData{SubjectCode: "8.2.1", ReasonCode: "1.2"}
	ProfileInUse       = StatusCodeData{SubjectCode: "8.2.1", ReasonCode: "3.3"}
	InvalidTransition  = StatusCodeData{SubjectCode: "8.2.1", ReasonCode: "3.5"}
	OtherEID           = StatusCodeData{SubjectCode: "8.2.1", ReasonCode: "3.10"}
	OtherMatchingID    = StatusCodeData{SubjectCode: "8.2.6", ReasonCode: "3.10"}
	NoMoreProfiles     = StatusCodeData{SubjectCode: "8.2.5", ReasonCode: "3.7"}
	MatchingIDUsed     = StatusCodeData{SubjectCode: "8.2.6", ReasonCode: "3.3"}
	EIDMissing         = StatusCodeData{SubjectCode: "8.1.1", ReasonCode: "2.2"}
	EIDOther           = StatusCodeData{SubjectCode: "8.1.1", ReasonCode: "3.10"}
	EndUserRefused     = StatusCodeData{SubjectCode: "8.8.5", ReasonCode: "3.8"}
	TooManyDownloads   = StatusCodeData{SubjectCode: "8.8.5", ReasonCode: "6.4"}
	TooManyCodeRetries = StatusCodeData{SubjectCode: "8.2.7", ReasonCode: "6.4"}
	PackageLoadFailed  = StatusCodeData{SubjectCode: "8.2.10", ReasonCode: "4.2"}
)

// Explain says what a status code means to a support agent, and what to do.
func Explain(d StatusCodeData) string {
	switch d.Code() {
	case ICCIDUnknown.Code():
		return "the SM-DP+ does not know this eSIM's ICCID — Replace eSIM, and ask a team lead to check the delivery with the SIM vendor"
	case NotAllowed.Code():
		return "the SM-DP+ does not let the carrier order this profile — Replace eSIM, and ask a team lead to check the delivery with the SIM vendor"
	case ProfileInUse.Code():
		return "the SM-DP+ says this profile is already in use — Replace eSIM"
	case InvalidTransition.Code():
		return "the SM-DP+ says the profile is not in a state for this — Replace eSIM"
	case OtherEID.Code(), EIDOther.Code():
		return "the SM-DP+ has this profile tied to another phone — Replace eSIM"
	case OtherMatchingID.Code(), MatchingIDUsed.Code():
		return "the SM-DP+ has another activation code for this profile — Replace eSIM"
	case NoMoreProfiles.Code():
		return "the SM-DP+ has no more profiles of this type — ask a team lead to restock with the SIM vendor"
	case EIDMissing.Code():
		return "the SM-DP+ wants the phone's EID for this profile — Replace eSIM"
	case EndUserRefused.Code():
		return "the customer refused the download — ask them to scan the QR again, or Replace eSIM"
	case TooManyDownloads.Code():
		return "too many download attempts — Replace eSIM"
	case TooManyCodeRetries.Code():
		return "too many wrong confirmation codes — Replace eSIM"
	case PackageLoadFailed.Code():
		return "the profile failed to load on the phone — ask the customer to restart the phone and scan the QR again, or Replace eSIM"
	}
	msg := "the SM-DP+ refused it (" + d.Code()
	if d.Message != "" {
		msg += ": " + d.Message
	}
	return msg + ") — Replace eSIM, and tell a team lead if it happens again"
}
