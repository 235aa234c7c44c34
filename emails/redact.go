package emails

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
)

// address matches an email address, also with its @ percent-encoded, as a
// URL carries it; the few characters an address may have but a URL or a log
// line uses as separators (/ = ?) end it.
var address = regexp.MustCompile(`(?i)[a-z0-9.!#$%&'*+^_` + "`" + `{|}~-]+(?:@|%40)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+`)

// RedactAddresses replaces every email address in s.
func RedactAddresses(s string) string { return address.ReplaceAllString(s, "[address]") }

// Redact wraps a log handler so that no email address reaches the log: a
// customer's is no business of the log, and a mail server's error often
// quotes the recipient. Messages, strings and errors are redacted, in
// groups too.
func Redact(h slog.Handler) slog.Handler {
	if _, ok := h.(redacting); ok {
		return h
	}
	return redacting{h}
}

type redacting struct{ slog.Handler }

func (r redacting) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, RedactAddresses(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.Handler.Handle(ctx, out)
}

func (r redacting) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = redactAttr(a)
	}
	return redacting{r.Handler.WithAttrs(out)}
}

func (r redacting) WithGroup(name string) slog.Handler { return redacting{r.Handler.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, RedactAddresses(v.String()))
	case slog.KindGroup:
		group := v.Group()
		out := make([]slog.Attr, len(group))
		for i, g := range group {
			out[i] = redactAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, RedactAddresses(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, RedactAddresses(x.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
