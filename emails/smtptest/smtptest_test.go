package smtptest_test

import (
	"net/smtp"
	"testing"
	"time"

	"github.com/carrier/esim-admin/emails/smtptest"
)

func TestServer(t *testing.T) {
	srv := smtptest.Start(t)
	msg := []byte("Subject: hi\r\n\r\nHello.\r\n")
	send := func() error { return smtp.SendMail(srv.Addr, nil, "a@example.com", []string{"b@example.com"}, msg) }

	t.Run("FailNext", func(t *testing.T) {
		srv.FailNext(2)
		for i := range 2 {
			if err := send(); err == nil {
				t.Fatalf("send %d: accepted, want 451", i+1)
			}
		}
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("got %d messages, want 0", n)
		}
	})
	t.Run("Accepts", func(t *testing.T) {
		if err := send(); err != nil {
			t.Fatal(err)
		}
		got := srv.WaitFor(t, 1, 5*time.Second)
		if len(got) != 1 || got[0].From != "a@example.com" || len(got[0].To) != 1 || got[0].To[0] != "b@example.com" {
			t.Errorf("got %+v", got)
		}
		if string(got[0].Data) != string(msg) {
			t.Errorf("data: got %q, want %q", got[0].Data, msg)
		}
		if n := srv.Attempts(); n != 3 {
			t.Errorf("attempts: got %d, want 3", n)
		}
	})
	t.Run("RejectRecipient", func(t *testing.T) {
		srv.RejectRecipient("B@example.com")
		if err := send(); err == nil {
			t.Error("accepted mail to a rejected recipient")
		}
	})
}
