package smdp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/smdp"
	"github.com/carrier/esim-admin/smdp/smdptest"
)

const iccid = "8901480100042200558"

func start(t *testing.T) (*smdptest.Server, *smdp.Client) {
	t.Helper()
	fake := smdptest.StartTB(t)
	pki := fake.PKI
	client, err := smdp.NewClient(smdp.Config{URL: fake.URL, RequesterID: "carrier", CertFile: pki.PortalClientCert, KeyFile: pki.PortalClientKey,
		CAFile: pki.CAFile, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return fake, client
}

func TestClientFunctions(t *testing.T) {
	t.Parallel()
	fake, client := start(t)
	ctx := context.Background()
	if err := client.DownloadOrder(ctx, iccid); err != nil {
		t.Fatalf("downloadOrder: %v", err)
	}
	resp, err := client.ConfirmOrder(ctx, iccid, "AP-OWN-1", true)
	if err != nil || resp.MatchingID != "AP-OWN-1" || resp.SMDPAddress != fake.Address {
		t.Fatalf("confirmOrder: %+v, %v", resp, err)
	}
	err = client.DownloadOrder(ctx, iccid)
	if !errors.Is(err, &smdp.StatusError{StatusCodeData: smdp.ProfileInUse}) {
		t.Errorf("a second downloadOrder: %v, want Failed 8.2.1/3.3", err)
	}
	if err := client.ReleaseProfile(ctx, iccid); err != nil {
		t.Errorf("releaseProfile of a released profile: %v, want success (nothing done)", err)
	}
	if err := client.CancelOrder(ctx, iccid, "AP-OTHER", smdp.FinalUnavailable); !errors.Is(err, &smdp.StatusError{StatusCodeData: smdp.OtherMatchingID}) {
		t.Errorf("cancelOrder with another MatchingID: %v, want 8.2.6/3.10", err)
	}
	if err := client.CancelOrder(ctx, iccid, "AP-OWN-1", smdp.FinalUnavailable); err != nil {
		t.Errorf("cancelOrder: %v", err)
	}
	if got := fake.Profile(iccid).State; got != smdptest.Unavailable {
		t.Errorf("the profile is %s after cancelOrder, want Unavailable", got)
	}
	if v := fake.Violations(); len(v) > 0 {
		t.Errorf("the client broke ES2+: %q", v)
	}
}

func TestClientFailures(t *testing.T) {
	t.Parallel()
	fake, client := start(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		fault     smdptest.Fault
		transport bool
	}{
		{"HTTP500", smdptest.Fault{Kind: smdptest.FaultHTTP}, true},
		{"HTTP404", smdptest.Fault{Kind: smdptest.FaultHTTP, HTTPStatus: http.StatusNotFound}, true},
		{"Drop", smdptest.Fault{Kind: smdptest.FaultDrop}, true},
		{"Timeout", smdptest.Fault{Kind: smdptest.FaultTimeout}, true},
		{"Failed", smdptest.Fault{Kind: smdptest.FaultStatus, Code: smdp.NoMoreProfiles}, false},
	} {
		fake.Fail(smdp.FuncDownloadOrder, tc.fault)
		err := client.DownloadOrder(ctx, iccid)
		var transport *smdp.TransportError
		var refused *smdp.StatusError
		switch {
		case tc.transport && !errors.As(err, &transport):
			t.Errorf("%s: %v, want a transport error", tc.name, err)
		case !tc.transport && (!errors.As(err, &refused) || refused.Code() != smdp.NoMoreProfiles.Code()):
			t.Errorf("%s: %v, want Failed %s", tc.name, err, smdp.NoMoreProfiles.Code())
		}
	}
	if got := fake.Profile(iccid).State; got != smdptest.Available {
		t.Errorf("the profile is %s after calls that did nothing", got)
	}
}

// The fake checks the exact field names: Go's decoder would take any case.
func TestFakeChecksFieldNames(t *testing.T) {
	t.Parallel()
	fake, _ := start(t)
	cert, err := tls.LoadX509KeyPair(fake.PKI.PortalClientCert, fake.PKI.PortalClientKey)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: fake.PKI.Pool}}}
	post := func(protocol, body string) int {
		req, _ := http.NewRequest(http.MethodPost, fake.URL+smdp.PathPrefix+smdp.FuncConfirmOrder, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(smdp.ProtocolHeader, protocol)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	header := `"header":{"functionRequesterIdentifier":"c","functionCallIdentifier":"1"}`
	for _, tc := range []struct{ name, protocol, body string }{
		{"MatchingIDCase", smdp.Protocol, `{` + header + `,"iccid":"` + iccid + `","releaseFlag":true,"matchingID":"X"}`},
		{"NoReleaseFlag", smdp.Protocol, `{` + header + `,"iccid":"` + iccid + `"}`},
		{"ReleaseFlagString", smdp.Protocol, `{` + header + `,"iccid":"` + iccid + `","releaseFlag":"true"}`},
		{"NoHeader", smdp.Protocol, `{"iccid":"` + iccid + `","releaseFlag":true}`},
		{"Protocol", "gsma/rsp/v3.0.0", `{` + header + `,"iccid":"` + iccid + `","releaseFlag":true}`},
	} {
		if got := post(tc.protocol, tc.body); got != http.StatusBadRequest {
			t.Errorf("%s: answered %d, want 400", tc.name, got)
		}
	}
	if got := len(fake.Violations()); got != 5 {
		t.Errorf("%d violations recorded, want 5", got)
	}
	if got := post("gsma/rsp/v2.5.0", `{`+header+`,"iccid":"`+iccid+`","releaseFlag":true}`); got != http.StatusOK {
		t.Errorf("a v2.5.0 peer answered %d, want 200", got)
	}
}

func TestParseDownloadProgressInfo(t *testing.T) {
	t.Parallel()
	ok := []struct {
		name, body string
		want       smdp.DownloadProgress
	}{
		{"Spec", `{"header":{"functionRequesterIdentifier":"s","functionCallIdentifier":"1"},"iccid":"` + iccid + `","profileType":"t","timestamp":"2026-12-07T13:05:00Z","notificationPointId":4,"notificationPointStatus":{"status":"Executed-Success"}}`,
			smdp.DownloadProgress{ICCID: iccid, ProfileType: "t", Point: 4, Status: smdp.ExecutionStatus{Status: smdp.StatusSuccess}}},
		{"TimeStampAndStringPoint", `{"iccid":"` + iccid + `","profileType":"t","timeStamp":"2026-12-07T13:05:00Z","notificationPointId":"4","notificationPointStatus":{"status":"Executed-Success"}}`,
			smdp.DownloadProgress{ICCID: iccid, ProfileType: "t", Point: 4, Status: smdp.ExecutionStatus{Status: smdp.StatusSuccess}}},
		{"PaddedICCIDAndOffset", `{"iccid":"` + iccid + `F","profileType":"t","timestamp":"2026-12-07T14:05:00+01:00","notificationPointId":101,"notificationPointStatus":{"status":"Executed-Success"}}`,
			smdp.DownloadProgress{ICCID: iccid, ProfileType: "t", Point: 101, Status: smdp.ExecutionStatus{Status: smdp.StatusSuccess}}},
	}
	at := time.Date(2026, 12, 7, 13, 5, 0, 0, time.UTC)
	for _, tc := range ok {
		got, err := smdp.ParseDownloadProgressInfo([]byte(tc.body))
		tc.want.At = at
		if err != nil || got.ICCID != tc.want.ICCID || got.Point != tc.want.Point || !got.At.Equal(at) || got.Status.Status != tc.want.Status.Status {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	bad := map[string]string{
		"NotJSON":     `iccid=1`,
		"NoICCID":     `{"timestamp":"2026-12-07T13:05:00Z","notificationPointId":4,"notificationPointStatus":{"status":"Executed-Success"}}`,
		"NoTime":      `{"iccid":"` + iccid + `","notificationPointId":4,"notificationPointStatus":{"status":"Executed-Success"}}`,
		"BadTime":     `{"iccid":"` + iccid + `","timestamp":"07/12/2026","notificationPointId":4,"notificationPointStatus":{"status":"Executed-Success"}}`,
		"PointWord":   `{"iccid":"` + iccid + `","timestamp":"2026-12-07T13:05:00Z","notificationPointId":"four","notificationPointStatus":{"status":"Executed-Success"}}`,
		"NoStatus":    `{"iccid":"` + iccid + `","timestamp":"2026-12-07T13:05:00Z","notificationPointId":4}`,
		"OtherStatus": `{"iccid":"` + iccid + `","timestamp":"2026-12-07T13:05:00Z","notificationPointId":4,"notificationPointStatus":{"status":"OK"}}`,
	}
	for name, body := range bad {
		if _, err := smdp.ParseDownloadProgressInfo([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Only the characters JSON requires are escaped (SGP.22 6.5).
func TestMarshalEscapesOnlyWhatJSONRequires(t *testing.T) {
	t.Parallel()
	b, err := smdp.Marshal(map[string]string{"message": `a<b & "c"`})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte(`{"message":"a<b & \"c\""}`); !bytes.Equal(b, want) {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
}
