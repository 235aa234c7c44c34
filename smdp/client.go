package smdp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is how the portal reaches its SM-DP+.
type Config struct {
	URL         string // the ES2+ base URL, e.g. https://smdp.example.com
	RequesterID string // the operator's functionRequesterIdentifier
	CertFile    string // the portal's client certificate (PEM)
	KeyFile     string // its private key (PEM)
	CAFile      string // the CA of the SM-DP+'s server certificate; "" for the system roots
	// Timeout bounds one call; 30 seconds when zero.
	Timeout time.Duration
}

// Client calls the SM-DP+'s ES2+ functions over mutual TLS.
type Client struct {
	base        string
	requesterID string
	http        *http.Client
}

// NewClient loads the certificates of cfg and returns its client.
func NewClient(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("-smdp-url must be an https URL, not %q", cfg.URL)
	}
	if cfg.RequesterID == "" {
		return nil, errors.New("-smdp-requester-id is required with -smdp-url")
	}
	if cfg.CertFile == "" || cfg.KeyFile == "" {
		return nil, errors.New("-smdp-cert and -smdp-key are required with -smdp-url: ES2+ is mutual TLS")
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("-smdp-cert and -smdp-key: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if cfg.CAFile != "" {
		pool, err := LoadCA(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("-smdp-ca: %w", err)
		}
		tc.RootCAs = pool
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tc
	return &Client{
		base:        strings.TrimRight(cfg.URL, "/"),
		requesterID: cfg.RequesterID,
		http:        &http.Client{Transport: transport, Timeout: timeout},
	}, nil
}

// LoadCA reads a PEM file of one or more CA certificates.
func LoadCA(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// DownloadOrder allocates the profile of iccid at the SM-DP+.
func (c *Client) DownloadOrder(ctx context.Context, iccid string) error {
	var resp DownloadOrderResponse
	return c.call(ctx, FuncDownloadOrder, &DownloadOrderRequest{ICCID: iccid}, &resp.Header, &resp)
}

// ConfirmOrder confirms the allocated profile of iccid under matchingID
// and, with release, releases it for download at once.
func (c *Client) ConfirmOrder(ctx context.Context, iccid, matchingID string, release bool) (ConfirmOrderResponse, error) {
	var resp ConfirmOrderResponse
	err := c.call(ctx, FuncConfirmOrder, &ConfirmOrderRequest{ICCID: iccid, MatchingID: matchingID, ReleaseFlag: release}, &resp.Header, &resp)
	return resp, err
}

// CancelOrder takes back the profile of iccid, ordered under matchingID,
// leaving it final (FinalAvailable or FinalUnavailable).
func (c *Client) CancelOrder(ctx context.Context, iccid, matchingID, final string) error {
	var resp EmptyResponse
	return c.call(ctx, FuncCancelOrder, &CancelOrderRequest{ICCID: iccid, MatchingID: matchingID, FinalProfileStatusIndicator: final},
		&resp.Header, &resp)
}

// ReleaseProfile releases a confirmed profile for download.
func (c *Client) ReleaseProfile(ctx context.Context, iccid string) error {
	var resp EmptyResponse
	return c.call(ctx, FuncReleaseProfile, &ReleaseProfileRequest{ICCID: iccid}, &resp.Header, &resp)
}

// maxResponse bounds what is read of an answer: ES2+ answers are small.
const maxResponse = 1 << 20

// call posts one function. req's header is filled in here; the answer is
// decoded into resp, whose header is hdr.
func (c *Client) call(ctx context.Context, function string, req any, hdr *ResponseHeader, resp any) error {
	transport := func(err error) error { return &TransportError{Function: function, Err: err} }
	setHeader(req, RequestHeader{FunctionRequesterIdentifier: c.requesterID, FunctionCallIdentifier: callID()})
	body, err := Marshal(req)
	if err != nil {
		return fmt.Errorf("smdp: %s: %w", function, err)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+PathPrefix+function, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("smdp: %s: %w", function, err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(ProtocolHeader, Protocol)
	res, err := c.http.Do(r)
	if err != nil {
		return transport(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	if err != nil {
		return transport(err)
	}
	// Every answer of an ES2+ function is 200, a failure included: any
	// other status came from something else on the way (SGP.22 6.5.2).
	if res.StatusCode != http.StatusOK {
		return transport(fmt.Errorf("HTTP %d", res.StatusCode))
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return transport(fmt.Errorf("the answer is not ES2+ JSON: %w", err))
	}
	st := hdr.FunctionExecutionStatus
	switch st.Status {
	case StatusSuccess, StatusWithWarning:
		return nil
	case StatusFailed, StatusExpired:
		e := &StatusError{Function: function, Status: st.Status}
		if st.StatusCodeData != nil {
			e.StatusCodeData = *st.StatusCodeData
		}
		return e
	}
	return transport(fmt.Errorf("the answer has no functionExecutionStatus (status %q)", st.Status))
}

func setHeader(req any, h RequestHeader) {
	switch r := req.(type) {
	case *DownloadOrderRequest:
		r.Header = h
	case *ConfirmOrderRequest:
		r.Header = h
	case *CancelOrderRequest:
		r.Header = h
	case *ReleaseProfileRequest:
		r.Header = h
	}
}

// callID is a functionCallIdentifier, unique per call.
func callID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
