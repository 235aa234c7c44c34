package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/smdp"
)

// es2BodyLimit bounds a notification: they are a few hundred bytes.
const es2BodyLimit = 64 << 10

// ES2Routes serves the SM-DP+'s side of ES2+ on the listener of its own
// (-es2-addr), whose mutual TLS is the authentication: a client without a
// certificate of -es2-client-ca never gets here. The one function is
// handleDownloadProgressInfo.
//
// ES2+ has no way to refuse a notification: its answer is 204. The portal
// answers 204 only for what it recorded (or had recorded before). A
// notification it cannot take — not ES2+, about an eSIM it does not know or
// that is nobody's line, with a time in the future — is logged, counted in
// esim_es2_notifications_total{result="rejected"} and answered 400 with
// what is wrong; one it could not store for a fault of its own gets 500. To
// the SM-DP+ either is a failed delivery, which it retries as its own
// policy says.
func (h *Handlers) ES2Routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+smdp.PathPrefix+smdp.FuncHandleDownloadProgressInfo, h.es2DownloadProgress)
	return mux
}

func (h *Handlers) es2DownloadProgress(w http.ResponseWriter, r *http.Request) {
	log := h.Log.With("es2", smdp.FuncHandleDownloadProgressInfo, "remote", r.RemoteAddr)
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		log = log.With("client", r.TLS.PeerCertificates[0].Subject.CommonName)
	}
	w.Header().Set(smdp.ProtocolHeader, smdp.Protocol)
	reject := func(code db.Code, msg string) {
		status, result := statusOf(code), "rejected"
		if status >= 500 {
			result = "error"
		}
		h.Metrics.es2Received.WithLabelValues(result).Inc()
		log.Warn("es2: notification not recorded", "status", status, "why", msg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(apiError{Error: msg, Code: code})
	}
	// A peer names its own highest version: any v2 is answered. A missing
	// header is let in; one naming another protocol is not ES2+.
	if v := r.Header.Get(smdp.ProtocolHeader); v != "" && !smdp.ProtocolAccepted(v) {
		reject(db.ErrInvalid, "X-Admin-Protocol must be gsma/rsp/v2.x.y, not "+v)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, es2BodyLimit))
	if err != nil {
		reject(db.ErrInvalid, "the body could not be read: "+err.Error())
		return
	}
	p, err := smdp.ParseDownloadProgressInfo(body)
	if err != nil {
		reject(db.ErrInvalid, err.Error())
		return
	}
	progress := db.DownloadProgress{ICCID: p.ICCID, Point: p.Point, Status: p.Status.Status, Failure: !p.Succeeded(), At: p.At}
	if d := p.Status.StatusCodeData; d != nil {
		progress.Code = d.Code()
		progress.Said = smdp.Explain(*d)
	}
	res, err := h.Store.RecordDownloadProgress(r.Context(), progress)
	var refusal *db.Error
	switch {
	case errors.As(err, &refusal):
		reject(db.ErrInvalid, refusal.Message)
		return
	case err != nil:
		log.Error("es2: record notification", "err", err)
		reject(codeInternal, "the notification could not be recorded; send it again")
		return
	}
	result := "recorded"
	if res.Duplicate {
		result = "duplicate"
	}
	h.Metrics.es2Received.WithLabelValues(result).Inc()
	log.Info("es2: notification", "iccid", p.ICCID, "point", p.Point, "status", p.Status.Status, slog.Bool("duplicate", res.Duplicate))
	w.WriteHeader(http.StatusNoContent)
}
