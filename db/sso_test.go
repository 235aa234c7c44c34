package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSignInSSORules(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	const iss = "https://idp.example.com"
	lead, err := s.CreateLogin(ctx, "lead@carrier.example", "Lea Lead", RoleLead, "password1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddLogin(ctx, "temp@carrier.example", "Tom Temp", RoleAgent, "password1", lead); err != nil {
		t.Fatal(err)
	}
	disabled, err := s.CreateLogin(ctx, "gone@carrier.example", "Gus Gone", RoleAgent, "password1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetLoginDisabled(ctx, disabled.ID, true, lead); err != nil {
		t.Fatal(err)
	}
	id := func(sub, email string, verified bool) SSOIdentity {
		return SSOIdentity{Issuer: iss, Subject: sub, Email: email, EmailVerified: verified, Name: "Name of " + sub}
	}
	logins := func() int { return count(t, s, `SELECT count(*) FROM logins`) }

	// Each step runs on the state the steps before it left, in order.
	steps := []struct {
		name     string
		id       SSOIdentity
		role     Role
		wantCode Code   // "" when the sign-in succeeds
		wantID   int64  // the login it signs in as; -1 for a new one
		wantName string // the login's name afterwards
	}{
		{name: "first sign-in creates the login", id: id("s-ana", "ana@carrier.example", true), role: RoleAgent, wantID: -1, wantName: "Name of s-ana"},
		{name: "a later sign-in updates name, email and role", id: SSOIdentity{Issuer: iss, Subject: "s-ana", Email: "ana.new@carrier.example", Name: "Ana Renamed"},
			role: RoleLead, wantName: "Ana Renamed"},
		{name: "another subject with that email cannot take the login", id: id("s-mallory", "ana.new@carrier.example", true), role: RoleLead, wantCode: ErrConflict},
		{name: "an unverified email does not link a password login", id: id("s-lea", "lead@carrier.example", false), role: RoleLead, wantCode: ErrConflict},
		{name: "a verified email links a password login", id: id("s-lea", "lead@carrier.example", true), role: RoleLead, wantID: lead.ID, wantName: "Name of s-lea"},
		{name: "a disabled login stays out", id: id("s-gus", "gone@carrier.example", true), role: RoleAgent, wantCode: ErrForbidden},
		{name: "no email", id: id("s-x", "", true), role: RoleAgent, wantCode: ErrInvalid},
		{name: "an email another login has", id: SSOIdentity{Issuer: iss, Subject: "s-ana", Email: "lead@carrier.example", Name: "Ana"}, role: RoleAgent, wantCode: ErrConflict},
	}
	var ana int64
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := logins()
			l, err := s.SignInSSO(ctx, st.id, st.role)
			if st.wantCode != "" {
				if ErrorCode(err) != st.wantCode {
					t.Fatalf("SignInSSO = %+v, %v; want a %s refusal", l, err, st.wantCode)
				}
				if logins() != before {
					t.Error("a refused sign-in made a login")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case st.wantID == -1:
				if logins() != before+1 {
					t.Error("no login was made")
				}
				ana = l.ID
			case st.wantID != 0 && l.ID != st.wantID:
				t.Errorf("signed in as login %d, want %d", l.ID, st.wantID)
			case st.wantID == 0 && l.ID != ana:
				t.Errorf("signed in as login %d, want Ana's %d", l.ID, ana)
			}
			got, err := s.LoginByID(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != st.wantName || got.Role != st.role || got.Email != st.id.Email || !got.SSO {
				t.Errorf("login = %+v; want %s, %s, %s, SSO", got, st.wantName, st.role, st.id.Email)
			}
		})
	}

	t.Run("a temporary password is dropped, not asked to be changed", func(t *testing.T) {
		l, err := s.SignInSSO(ctx, id("s-tom", "temp@carrier.example", true), RoleAgent)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.LoginByID(ctx, l.ID)
		if got.PasswordTemporary {
			t.Error("the login must still change its password")
		}
		if _, err := s.Authenticate(ctx, "temp@carrier.example", "password1"); !errors.Is(err, ErrWrongCredentials) {
			t.Errorf("the team lead's temporary password still signs in: %v", err)
		}
	})
	t.Run("a login made by single sign-on has no password", func(t *testing.T) {
		if _, err := s.Authenticate(ctx, "ana.new@carrier.example", ""); !errors.Is(err, ErrWrongCredentials) {
			t.Errorf("an empty password signs in: %v", err)
		}
	})
	t.Run("last sign-in and audit", func(t *testing.T) {
		ls, err := s.Logins(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.ID == ana && !l.LastSignIn.Equal(now) {
				t.Errorf("last sign-in %v, want %v", l.LastSignIn, now)
			}
		}
		if n := count(t, s, `SELECT count(*) FROM audit_log WHERE action = ?`, ActionSSOSignIn); n != 4 {
			t.Errorf("%d single sign-ons audited, want 4", n)
		}
	})
}

func TestBreakGlass(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	lead, err := s.CreateLogin(ctx, "lead@carrier.example", "Lea Lead", RoleLead, "password1")
	if err != nil {
		t.Fatal(err)
	}
	glass, err := s.CreateLogin(ctx, "glass@carrier.example", "Break Glass", RoleLead, "password1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetBreakGlass(ctx, glass.ID, true, lead); err != nil {
		t.Fatal(err)
	}
	l, err := s.Authenticate(ctx, "glass@carrier.example", "password1")
	if err != nil || !l.BreakGlass {
		t.Fatalf("Authenticate = %+v, %v; want a break-glass login", l, err)
	}
	if err := s.RecordSignIn(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSignIn(ctx, lead); err != nil {
		t.Fatal(err)
	}
	got, err := s.BreakGlassSignIns(ctx, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].LoginEmail != "glass@carrier.example" || !got[0].At.Equal(now) {
		t.Errorf("break-glass sign-ins = %+v, want the one of glass@", got)
	}
	if got, _ := s.BreakGlassSignIns(ctx, now.Add(time.Second)); len(got) != 0 {
		t.Errorf("break-glass sign-ins since later = %+v", got)
	}
}

func TestResetPasswordOfAnSSOLogin(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	lead, err := s.CreateLogin(ctx, "lead@carrier.example", "Lea Lead", RoleLead, "password1")
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.SignInSSO(ctx, SSOIdentity{Issuer: "https://idp.example.com", Subject: "s-ana", Email: "ana@carrier.example", Name: "Ana"}, RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ResetPassword(ctx, l.ID, "password2", lead); ErrorCode(err) != ErrConflict {
		t.Fatalf("reset the password of an SSO login: %v, want a refusal", err)
	}
	if _, err := s.Authenticate(ctx, "ana@carrier.example", "password2"); !errors.Is(err, ErrWrongCredentials) {
		t.Errorf("the refused password signs in: %v", err)
	}
	if err := s.SetBreakGlass(ctx, l.ID, true, lead); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetPassword(ctx, l.ID, "password2", lead); err != nil {
		t.Fatalf("reset the password of a break-glass SSO login: %v", err)
	}
}
