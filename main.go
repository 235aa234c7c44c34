// Command esim-admin is the eSIM Admin Portal: the web app in which a
// carrier's support agents give subscribers travel eSIMs.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/smdp"
	"github.com/carrier/esim-admin/static"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "esim-admin:", err)
		}
		os.Exit(1)
	}
}

// run starts the portal, or runs a command such as "users add".
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig("esim-admin", args, getenv, stderr)
	if err != nil {
		return err
	}
	// Backup and restore work on the file, never through a store: opening
	// one would migrate a database that a portal of another version serves.
	if len(rest) > 0 && (rest[0] == "backup" || rest[0] == "restore") {
		return fileCommand(ctx, cfg, rest[0], rest[1:], stdout)
	}
	// The test SM-DP+ has no database of the portal's.
	if len(rest) > 0 && rest[0] == "smdp-fake" {
		return smdpFake(ctx, rest[1:], stdin, stdout, stderr)
	}
	if len(rest) == 0 {
		lock, err := db.LockDatabase(cfg.DB, fmt.Sprintf("a portal, pid %d, on %s since %s", os.Getpid(), cfg.Addr, time.Now().UTC().Format(time.RFC3339)))
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	store, err := db.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	// Emails are rendered in the change that queues them, whoever makes it:
	// the server, a command, the demo data.
	store.Mail = emails.Renderer{Brand: cfg.brand()}
	store.Notices = cfg.notices()
	store.Retention = cfg.Retention
	if len(rest) > 0 {
		// An inventory file may leave matching IDs to the SM-DP+.
		store.SMDP = cfg.SMDPURL != ""
		return command(ctx, store, rest, stdin, stdout, stderr)
	}
	return serve(ctx, cfg, store, stdout)
}

func serve(ctx context.Context, cfg config, store *db.Store, stdout io.Writer) error {
	// The log keeps no email address, whoever writes to it: the scheduler,
	// the backups and pruning too, not only the handlers and the outbox.
	log := slog.New(emails.Redact(slog.NewJSONHandler(stdout, nil)))
	if cfg.Demo {
		seeded, err := demo.Seed(ctx, store)
		if err != nil {
			return fmt.Errorf("load demo data: %w", err)
		}
		if seeded {
			log.Info("loaded the demo data set", "db", cfg.DB)
		}
	}
	key := []byte(cfg.SessionKey)
	if len(key) == 0 {
		var err error
		if key, err = store.SessionKey(ctx); err != nil {
			return err
		}
	}
	go store.PruneEvery(ctx, time.Hour, log)
	metrics := handlers.NewMetrics(store)
	store.Observe = metrics.ObserveCommit
	go store.RetainEvery(ctx, 10*time.Minute, log, metrics.RetentionStep)
	go static.Precompress()
	mailQueued := func() {}
	var outbox func() emails.Status
	if cfg.SMTPAddr != "" {
		sender, err := emails.NewSender(emails.SMTPConfig{Addr: cfg.SMTPAddr, Username: cfg.SMTPUser, Password: cfg.SMTPPassword, From: cfg.MailFrom})
		if err != nil {
			return err
		}
		worker := &emails.Worker{Store: store, Sender: sender, Logger: log, Now: store.Now}
		go worker.Run(ctx)
		mailQueued = worker.Notify
		outbox = worker.Status
	}
	var provisioning func() time.Time
	if cfg.SMDPURL != "" {
		// After the demo data: its lines were made without an SM-DP+.
		worker, err := startProvisioning(ctx, cfg, store, log, mailQueued, metrics.SMDPCall)
		if err != nil {
			return err
		}
		outboxQueued := mailQueued
		mailQueued = func() { outboxQueued(); worker.Notify() }
		provisioning = worker.LastRun
	}
	if cfg.BackupDir != "" {
		go backupLoop(ctx, log, cfg, metrics.BackupDone)
	}
	scheduler := &emails.Scheduler{Store: store, Queued: mailQueued, Logger: log, Stock: store, ReorderDays: cfg.ReorderDays, Now: store.Now}
	go scheduler.Run(ctx)
	proxies, err := cfg.trustedProxies()
	if err != nil {
		return err
	}
	sso, err := cfg.signIn()
	if err != nil {
		return err
	}
	cookie := "esim_session"
	if cfg.secure() {
		cookie = "__Host-esim_session"
	}
	h := handlers.New(handlers.Handlers{
		Store:        store,
		Sessions:     handlers.NewSessionStore(store, key, cfg.secure()),
		Log:          log,
		CookieName:   cookie,
		MailHeld:     cfg.SMTPAddr == "",
		MailQueued:   mailQueued,
		Demo:         cfg.Demo,
		Secure:       cfg.secure(),
		BaseURL:      cfg.BaseURL,
		Proxies:      proxies,
		LowStock:     cfg.LowStock,
		ReorderDays:  cfg.ReorderDays,
		APIToken:     cfg.APIToken,
		MetricsToken: cfg.MetricsToken,
		Metrics:      metrics,
		Outbox:       outbox,
		Provisioning: provisioning,
		SSO:          sso,
		SSOName:      cfg.OIDCName,
		PasswordOff:  !cfg.PasswordLogin,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h.Routes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	if cfg.ES2Addr != "" {
		es2, err := es2Server(cfg, h)
		if err != nil {
			return err
		}
		es2ln, err := net.Listen("tcp", cfg.ES2Addr)
		if err != nil {
			return err
		}
		servers = append(servers, es2)
		go func() { errc <- es2.ServeTLS(es2ln, "", "") }()
		fmt.Fprintf(stdout, "ES2+ for the SM-DP+: https://%s%s\n", cfg.ES2Addr, smdp.PathPrefix)
	}
	fmt.Fprintf(stdout, "eSIM Admin Portal: open %s\n", cfg.listenURL())
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Shutdown(shutdown))
	}
	return errors.Join(errs...)
}

// startProvisioning turns on the SM-DP+ (GSMA ES2+): Add line and Replace
// eSIM order the profile and hold the QR email until it is released, and the
// worker it returns makes the calls.
func startProvisioning(ctx context.Context, cfg config, store *db.Store, log *slog.Logger, mailQueued func(), observe func(string, string)) (*smdp.Worker, error) {
	client, err := smdp.NewClient(smdp.Config{URL: cfg.SMDPURL, RequesterID: cfg.SMDPRequesterID, CertFile: cfg.SMDPCert, KeyFile: cfg.SMDPKey, CAFile: cfg.SMDPCA})
	if err != nil {
		return nil, err
	}
	store.SMDP = true
	worker := &smdp.Worker{Store: store, Client: client, Logger: log, Now: store.Now, MailQueued: mailQueued, Observe: observe}
	go worker.Run(ctx)
	return worker, nil
}

// es2Server is the listener of the SM-DP+'s notifications: mutual TLS, and
// only a client certificate of -es2-client-ca gets past the handshake.
func es2Server(cfg config, h *handlers.Handlers) (*http.Server, error) {
	cert, err := tls.LoadX509KeyPair(cfg.ES2Cert, cfg.ES2Key)
	if err != nil {
		return nil, fmt.Errorf("-es2-cert and -es2-key: %w", err)
	}
	pool, err := smdp.LoadCA(cfg.ES2ClientCA)
	if err != nil {
		return nil, fmt.Errorf("-es2-client-ca: %w", err)
	}
	return &http.Server{Handler: h.ES2Routes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}}, nil
}
