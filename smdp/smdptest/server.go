package smdptest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrier/esim-admin/smdp"
)

// Profile states of SGP.22 Figure 15.
const (
	Available   = "Available"
	Allocated   = "Allocated"
	Linked      = "Linked"
	Confirmed   = "Confirmed"
	Released    = "Released"
	Downloaded  = "Downloaded"
	Installed   = "Installed"
	Error       = "Error"
	Unavailable = "Unavailable"
)

// Kinds of Fault.
const (
	// FaultTimeout never answers: the caller's timeout ends the call.
	FaultTimeout = "timeout"
	// FaultHTTP answers an HTTP status (Fault.HTTPStatus, 500 when 0)
	// without doing anything.
	FaultHTTP = "http"
	// FaultDrop closes the connection without doing anything.
	FaultDrop = "drop"
	// FaultLoseAnswer does the function, then closes the connection
	// instead of answering: the answer is lost.
	FaultLoseAnswer = "lose-answer"
	// FaultStatus answers Failed with Fault.Code, doing nothing.
	FaultStatus = "status"
	// FaultSlow waits Fault.Delay, then does the function as usual.
	FaultSlow = "slow"
)

// Fault is a way one call fails.
type Fault struct {
	Kind       string
	HTTPStatus int
	Code       smdp.StatusCodeData
	Delay      time.Duration
}

// Call is one ES2+ request the server received, as sent.
type Call struct {
	Function string
	Body     map[string]any
	Fault    string // the fault it met, "" for none
}

// Profile is a profile as the SM-DP+ holds it.
type Profile struct {
	State      string
	MatchingID string
	EID        string
}

// Server is the fake SM-DP+.
type Server struct {
	// URL is the ES2+ base URL to give the portal's -smdp-url.
	URL string
	// Address is the SM-DP+ address confirmOrder answers, which goes in
	// the activation code.
	Address string
	// RequesterID, when set, is the only functionRequesterIdentifier let in.
	RequesterID string
	PKI         *PKI

	srv *http.Server
	ln  net.Listener

	mu         sync.Mutex
	profiles   map[string]*Profile
	faults     map[string][]Fault
	calls      []Call
	violations []string
	changed    chan struct{} // closed and replaced at each call received
	stop       chan struct{}
}

// Start serves ES2+ on addr ("127.0.0.1:0" for any port) with mutual TLS:
// a client without a certificate of pki's CA is refused in the handshake.
func Start(addr string, pki *PKI) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{PKI: pki, Address: "smdp.example.com", ln: ln, profiles: map[string]*Profile{}, faults: map[string][]Fault{},
		changed: make(chan struct{}), stop: make(chan struct{})}
	s.URL = "https://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, TLSConfig: &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pki.SMDPServer},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.Pool,
	}}
	go s.srv.ServeTLS(ln, "", "")
	return s, nil
}

// Close stops the server; calls left hanging by FaultTimeout end.
func (s *Server) Close() error {
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	return s.srv.Close()
}

// Fail makes the next calls of function fail, one fault each, in order.
func (s *Server) Fail(function string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[function] = append(s.faults[function], faults...)
}

// SetProfile puts a profile in a state, as if the SM-DP+ had it so.
func (s *Server) SetProfile(iccid string, p Profile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.profiles[iccid] = &p
}

// Profile returns the profile of iccid; one never seen is Available.
func (s *Server) Profile(iccid string) Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.profiles[iccid]; ok {
		return *p
	}
	return Profile{State: Available}
}

// Calls returns the requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsOf counts the requests of function received so far.
func (s *Server) CallsOf(function string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Function == function {
			n++
		}
	}
	return n
}

// WaitCalls returns a channel closed once n calls of function were
// received (or the server closed).
func (s *Server) WaitCalls(function string, n int) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		defer close(out)
		for {
			s.mu.Lock()
			ch := s.changed
			s.mu.Unlock()
			if s.CallsOf(function) >= n {
				return
			}
			select {
			case <-ch:
			case <-s.stop:
				return
			}
		}
	}()
	return out
}

// Violations are the ways the portal's requests broke ES2+: a misspelt
// field, a missing header, a wrong X-Admin-Protocol. A test asserts there
// are none.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// fields are the exact request field names of each function (SGP.22 5.3):
// Go's decoder would accept any letter case.
var fields = map[string][]string{
	smdp.FuncDownloadOrder:  {"header", "eid", "iccid", "profileType"},
	smdp.FuncConfirmOrder:   {"header", "iccid", "eid", "matchingId", "confirmationCode", "smdsAddress", "releaseFlag"},
	smdp.FuncCancelOrder:    {"header", "iccid", "eid", "matchingId", "finalProfileStatusIndicator"},
	smdp.FuncReleaseProfile: {"header", "iccid"},
}

var mandatory = map[string][]string{
	smdp.FuncDownloadOrder:  {"header"},
	smdp.FuncConfirmOrder:   {"header", "iccid", "releaseFlag"},
	smdp.FuncCancelOrder:    {"header", "iccid", "finalProfileStatusIndicator"},
	smdp.FuncReleaseProfile: {"header", "iccid"},
}

// ServeHTTP answers one ES2+ call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	function, ok := strings.CutPrefix(r.URL.Path, smdp.PathPrefix)
	if _, known := fields[function]; !ok || !known || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var raw map[string]any
	if problem := s.check(function, r, body, &raw); problem != "" {
		s.mu.Lock()
		s.violations = append(s.violations, function+": "+problem)
		s.calls = append(s.calls, Call{Function: function, Body: raw})
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	var fault Fault
	if q := s.faults[function]; len(q) > 0 {
		fault, s.faults[function] = q[0], q[1:]
	}
	s.calls = append(s.calls, Call{Function: function, Body: raw, Fault: fault.Kind})
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	switch fault.Kind {
	case FaultTimeout:
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return
	case FaultHTTP:
		http.Error(w, "the SM-DP+ is not well", cmpOr(fault.HTTPStatus, http.StatusInternalServerError))
		return
	case FaultDrop:
		hangUp(w)
		return
	case FaultStatus:
		s.answer(w, failed(fault.Code), nil)
		return
	case FaultSlow:
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			return
		}
	}
	status, resp := s.do(function, raw)
	if fault.Kind == FaultLoseAnswer {
		hangUp(w)
		return
	}
	s.answer(w, status, resp)
}

// check returns what is wrong with a request, "" when nothing is.
func (s *Server) check(function string, r *http.Request, body []byte, raw *map[string]any) string {
	if !smdp.ProtocolAccepted(r.Header.Get(smdp.ProtocolHeader)) {
		return fmt.Sprintf("X-Admin-Protocol %q is not gsma/rsp/v2.x.y", r.Header.Get(smdp.ProtocolHeader))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Sprintf("Content-Type %q is not application/json", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(raw); err != nil {
		return "not a JSON object: " + err.Error()
	}
	for k := range *raw {
		if !slices.Contains(fields[function], k) {
			return fmt.Sprintf("unknown field %q", k)
		}
	}
	for _, k := range mandatory[function] {
		if _, ok := (*raw)[k]; !ok {
			return fmt.Sprintf("mandatory field %q is missing", k)
		}
	}
	if function == smdp.FuncDownloadOrder && (*raw)["iccid"] == nil && (*raw)["profileType"] == nil {
		return "downloadOrder needs iccid or profileType"
	}
	hdr, _ := (*raw)["header"].(map[string]any)
	if len(hdr) != 2 {
		return "header must hold exactly functionRequesterIdentifier and functionCallIdentifier"
	}
	for _, k := range []string{"functionRequesterIdentifier", "functionCallIdentifier"} {
		if v, _ := hdr[k].(string); v == "" {
			return fmt.Sprintf("header.%s is missing or empty", k)
		}
	}
	if _, ok := (*raw)["releaseFlag"]; ok {
		if _, isBool := (*raw)["releaseFlag"].(bool); !isBool {
			return "releaseFlag must be a boolean"
		}
	}
	return ""
}

// do runs a function on the profiles: the state machine of SGP.22 Figure 15.
func (s *Server) do(function string, raw map[string]any) (smdp.ExecutionStatus, map[string]any) {
	str := func(k string) string { v, _ := raw[k].(string); return v }
	hdr, _ := raw["header"].(map[string]any)
	if s.RequesterID != "" && hdr["functionRequesterIdentifier"] != s.RequesterID {
		return failed(smdp.NotAllowed), nil
	}
	iccid := str("iccid")
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.profiles[iccid]
	if !ok {
		p = &Profile{State: Available}
		s.profiles[iccid] = p
	}
	switch function {
	case smdp.FuncDownloadOrder:
		if p.State != Available {
			return failed(smdp.ProfileInUse), nil
		}
		p.State, p.EID = Allocated, str("eid")
		if p.EID != "" {
			p.State = Linked
		}
		return success(), map[string]any{"iccid": iccid}
	case smdp.FuncConfirmOrder:
		mid := str("matchingId")
		if p.State == Released && mid != "" && mid == p.MatchingID {
			return failed(smdp.MatchingIDUsed), nil
		}
		if p.State != Allocated && p.State != Linked {
			return failed(smdp.ProfileInUse), nil
		}
		if mid != "" {
			for other, q := range s.profiles {
				if other != iccid && q.MatchingID == mid {
					return failed(smdp.MatchingIDUsed), nil
				}
			}
		} else {
			mid = fmt.Sprintf("FAKE-%d", len(s.calls))
		}
		p.MatchingID = mid
		p.State = Confirmed
		if raw["releaseFlag"] == true {
			p.State = Released
		}
		return success(), map[string]any{"matchingId": mid, "smdpAddress": s.Address}
	case smdp.FuncCancelOrder:
		switch p.State {
		case Allocated, Linked, Confirmed, Released, Error:
		case Available:
			return failed(smdp.ICCIDUnknown), nil
		default:
			return failed(smdp.ProfileInUse), nil
		}
		if mid := str("matchingId"); mid != "" && mid != p.MatchingID {
			return failed(smdp.OtherMatchingID), nil
		}
		final := str("finalProfileStatusIndicator")
		if final != smdp.FinalAvailable && final != smdp.FinalUnavailable {
			return failed(smdp.StatusCodeData{SubjectCode: "8.1", ReasonCode: "2.1", Message: "finalProfileStatusIndicator"}), nil
		}
		*p = Profile{State: final}
		return success(), nil
	case smdp.FuncReleaseProfile:
		switch p.State {
		case Released:
			return success(), nil
		case Confirmed:
			p.State = Released
			return success(), nil
		}
		return failed(smdp.InvalidTransition), nil
	}
	return failed(smdp.StatusCodeData{SubjectCode: "1.1", ReasonCode: "1.1"}), nil
}

// Progress is what a phone did at a notification point.
type Progress struct {
	ICCID string
	Point int
	// Code is the failure's status code; the zero value is success.
	Code smdp.StatusCodeData
	At   time.Time
}

// Notify sends handleDownloadProgressInfo to the portal's ES2+ listener
// (its base URL) and moves the profile as the phone did: point 3 passed is
// Downloaded, point 4 passed Installed, a failure Error. It returns the
// portal's HTTP status.
func (s *Server) Notify(ctx context.Context, portal string, p Progress) (int, error) {
	status := smdp.ExecutionStatus{Status: smdp.StatusSuccess}
	if p.Code.SubjectCode != "" {
		status = failed(p.Code)
	}
	body := map[string]any{
		"header":                  map[string]any{"functionRequesterIdentifier": "smdp-fake", "functionCallIdentifier": fmt.Sprint(time.Now().UnixNano())},
		"iccid":                   p.ICCID,
		"profileType":             "travel",
		"timestamp":               p.At.UTC().Format("2006-01-02T15:04:05Z"),
		"notificationPointId":     p.Point,
		"notificationPointStatus": status,
	}
	b, err := smdp.Marshal(body)
	if err != nil {
		return 0, err
	}
	code, err := s.Post(ctx, portal, b)
	if err == nil && code == http.StatusNoContent {
		s.mu.Lock()
		if pr, ok := s.profiles[p.ICCID]; ok {
			switch {
			case status.Status != smdp.StatusSuccess:
				pr.State = Error
			case p.Point == smdp.PointDownload:
				pr.State = Downloaded
			case p.Point == smdp.PointInstallation:
				pr.State = Installed
			}
		}
		s.mu.Unlock()
	}
	return code, err
}

// Post sends body, as it is, to the portal's handleDownloadProgressInfo with
// the SM-DP+'s client certificate, and returns the HTTP status.
func (s *Server) Post(ctx context.Context, portal string, body []byte) (int, error) {
	return PostWith(ctx, s.PKI.SMDPClient, s.PKI.Pool, portal, body)
}

// PostWith posts a handleDownloadProgressInfo body with client certificate
// cert, trusting roots for the portal's server certificate, and returns the
// HTTP status.
func PostWith(ctx context.Context, cert tls.Certificate, roots *x509.CertPool, portal string, body []byte) (int, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: roots}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(portal, "/")+smdp.PathPrefix+smdp.FuncHandleDownloadProgressInfo, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(smdp.ProtocolHeader, smdp.Protocol)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

func (s *Server) answer(w http.ResponseWriter, status smdp.ExecutionStatus, fields map[string]any) {
	body := map[string]any{"header": map[string]any{"functionExecutionStatus": status}}
	for k, v := range fields {
		body[k] = v
	}
	b, err := smdp.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(smdp.ProtocolHeader, smdp.Protocol)
	w.Write(b)
}

func success() smdp.ExecutionStatus { return smdp.ExecutionStatus{Status: smdp.StatusSuccess} }

func failed(code smdp.StatusCodeData) smdp.ExecutionStatus {
	return smdp.ExecutionStatus{Status: smdp.StatusFailed, StatusCodeData: &code}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// StartTB starts a fake SM-DP+ on a free loopback port with certificates
// of its own in a temporary folder, for a test or benchmark, which stops it
// when it ends.
func StartTB(tb testing.TB) *Server {
	tb.Helper()
	pki, err := NewPKI(tb.TempDir())
	if err != nil {
		tb.Fatalf("smdptest: %v", err)
	}
	s, err := Start("127.0.0.1:0", pki)
	if err != nil {
		tb.Fatalf("smdptest: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
