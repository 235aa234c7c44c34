package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
)

// Part is a leaf of a MIME message, with the media types of the multiparts
// that hold it, outermost first.
type Part struct {
	Parents []string
	Header  textproto.MIMEHeader
	Type    string
	Body    []byte // transfer encoding undone
}

// Parse splits a received message into its header and its leaf parts, as a
// mail client would walk it.
func Parse(raw []byte) (mail.Header, []Part, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("read message: %w", err)
	}
	var parts []Part
	if err := walk(nil, textproto.MIMEHeader(m.Header), m.Body, &parts); err != nil {
		return nil, nil, err
	}
	return m.Header, parts, nil
}

func walk(parents []string, h textproto.MIMEHeader, body io.Reader, out *[]Part) error {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("content type %q: %w", h.Get("Content-Type"), err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mt, err)
			}
			if err := walk(append(append([]string(nil), parents...), mt), p.Header, p, out); err != nil {
				return err
			}
		}
	}
	// NextPart has already undone quoted-printable; base64 is left to us.
	if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", mt, err)
	}
	*out = append(*out, Part{Parents: parents, Header: h, Type: mt, Body: b})
	return nil
}
