package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/carrier/esim-admin/smdp"
	"github.com/carrier/esim-admin/smdp/smdptest"
)

// smdpFake serves the test SM-DP+ so that a newcomer can watch the whole
// ES2+ flow on one machine: it makes its certificates, prints the portal's
// flags, and reads commands from standard input that play the phone or
// make the SM-DP+ fail.
func smdpFake(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("smdp-fake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9443", "address the SM-DP+ listens on")
	dir := fs.String("dir", "smdp-fake", "folder for the certificates it makes (made anew at each start)")
	portal := fs.String("portal", "https://127.0.0.1:8443", "the portal's ES2+ listener (its -es2-addr), for the phone's progress")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pki, err := smdptest.NewPKI(*dir)
	if err != nil {
		return err
	}
	fake, err := smdptest.Start(*addr, pki)
	if err != nil {
		return err
	}
	defer fake.Close()
	fmt.Fprintf(stdout, `Fake SM-DP+ on %s. Start the portal with:

  go run . -smdp-url %s -smdp-requester-id carrier \
    -smdp-cert %s -smdp-key %s -smdp-ca %s \
    -es2-addr %s -es2-cert %s -es2-key %s -es2-client-ca %s

Commands (one a line): download ICCID | install ICCID | refuse ICCID | fail FUNCTION SUBJECT/REASON |
  down N (the next N calls of each function answer 503) | timeout FUNCTION | lose FUNCTION | slow FUNCTION DURATION | profile ICCID
`, fake.URL, fake.URL, pki.PortalClientCert, pki.PortalClientKey, pki.CAFile,
		strings.TrimPrefix(*portal, "https://"), pki.PortalServerCert, pki.PortalServerKey, pki.CAFile)
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				<-ctx.Done()
				return nil
			}
			if msg, err := fakeCommand(ctx, fake, *portal, strings.Fields(line)); err != nil {
				fmt.Fprintln(stderr, err)
			} else if msg != "" {
				fmt.Fprintln(stdout, msg)
			}
		}
	}
}

var es2Functions = []string{smdp.FuncDownloadOrder, smdp.FuncConfirmOrder, smdp.FuncCancelOrder, smdp.FuncReleaseProfile}

// fakeCommand runs one command of smdp-fake.
func fakeCommand(ctx context.Context, fake *smdptest.Server, portal string, f []string) (string, error) {
	if len(f) == 0 {
		return "", nil
	}
	notify := func(point int, code smdp.StatusCodeData) (string, error) {
		status, err := fake.Notify(ctx, portal, smdptest.Progress{ICCID: f[1], Point: point, Code: code, At: time.Now()})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("handleDownloadProgressInfo point %d: the portal answered %d", point, status), nil
	}
	switch {
	case f[0] == "download" && len(f) == 2:
		return notify(smdp.PointDownload, smdp.StatusCodeData{})
	case f[0] == "install" && len(f) == 2:
		return notify(smdp.PointInstallation, smdp.StatusCodeData{})
	case f[0] == "refuse" && len(f) == 2:
		return notify(smdp.PointDownload, smdp.EndUserRefused)
	case f[0] == "profile" && len(f) == 2:
		return fmt.Sprintf("%+v", fake.Profile(f[1])), nil
	case f[0] == "down" && len(f) == 2:
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return "", err
		}
		for _, fn := range es2Functions {
			for range n {
				fake.Fail(fn, smdptest.Fault{Kind: smdptest.FaultHTTP, HTTPStatus: 503})
			}
		}
		return "", nil
	case f[0] == "fail" && len(f) == 3:
		subject, reason, ok := strings.Cut(f[2], "/")
		if !ok {
			return "", errors.New("fail FUNCTION SUBJECT/REASON, e.g. fail downloadOrder 8.2.1/3.3")
		}
		fake.Fail(f[1], smdptest.Fault{Kind: smdptest.FaultStatus, Code: smdp.StatusCodeData{SubjectCode: subject, ReasonCode: reason}})
		return "", nil
	case f[0] == "timeout" && len(f) == 2:
		fake.Fail(f[1], smdptest.Fault{Kind: smdptest.FaultTimeout})
		return "", nil
	case f[0] == "lose" && len(f) == 2:
		fake.Fail(f[1], smdptest.Fault{Kind: smdptest.FaultLoseAnswer})
		return "", nil
	case f[0] == "slow" && len(f) == 3:
		d, err := time.ParseDuration(f[2])
		if err != nil {
			return "", err
		}
		fake.Fail(f[1], smdptest.Fault{Kind: smdptest.FaultSlow, Delay: d})
		return "", nil
	}
	return "", fmt.Errorf("unknown command %q", strings.Join(f, " "))
}
