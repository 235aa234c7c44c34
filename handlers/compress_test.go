package handlers_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/static"
)

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return out
}

func TestCompression(t *testing.T) {
	t.Parallel()
	app := portaltest.Start(t)
	agent := app.Agent(t)
	t.Run("Page", func(t *testing.T) {
		plain := agent.Get(t, "/esims", "Accept-Encoding", "identity")
		zipped := agent.Get(t, "/esims", "Accept-Encoding", "gzip, deflate, br")
		if plain.Header.Get("Content-Encoding") != "" || zipped.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q without gzip, %q with it", plain.Header.Get("Content-Encoding"), zipped.Header.Get("Content-Encoding"))
		}
		for _, r := range []*portaltest.Response{plain, zipped} {
			if vary := strings.Join(r.Header.Values("Vary"), ", "); !strings.Contains(vary, "Accept-Encoding") {
				t.Errorf("Vary = %q", vary)
			}
		}
		page := gunzip(t, zipped.Body)
		if !bytes.Contains(page, []byte(`data-testid="esim-list"`)) || len(zipped.Body) > len(page)/3 {
			t.Errorf("the List page is %d bytes, %d compressed", len(page), len(zipped.Body))
		}
		if r := agent.Get(t, "/esims", "Accept-Encoding", "gzip;q=0"); r.Header.Get("Content-Encoding") != "" {
			t.Error("gzip;q=0 got gzip")
		}
	})
	t.Run("SmallPageAsItIs", func(t *testing.T) {
		r := agent.Get(t, "/esims?state=nope", "Accept-Encoding", "gzip", "HX-Request", "true", "HX-Target", "esim-results")
		if r.Header.Get("Content-Encoding") != "" {
			r.Body = gunzip(t, r.Body)
			if len(r.Body) < 1400 {
				t.Errorf("a fragment of %d bytes was compressed", len(r.Body))
			}
		} else if len(r.Body) >= 1400 {
			t.Errorf("a fragment of %d bytes was not compressed", len(r.Body))
		}
	})
	t.Run("Static", func(t *testing.T) {
		src, ok := agent.Page(t, "/esims").Find(`script[src*="htmx"]`).Attr("src")
		if !ok {
			t.Fatal("no htmx script on the page")
		}
		want, _, _ := static.Open(strings.TrimPrefix(src, static.Prefix))
		for _, tc := range []struct{ accept, encoding string }{
			{"gzip, deflate, br", "br"}, {"gzip", "gzip"}, {"br;q=0, gzip", "gzip"}, {"", ""}, {"identity", ""},
		} {
			t.Run(fmt.Sprintf("%q", tc.accept), func(t *testing.T) {
				r := agent.Get(t, src, "Accept-Encoding", tc.accept)
				if got := r.Header.Get("Content-Encoding"); got != tc.encoding {
					t.Fatalf("Content-Encoding %q, want %q", got, tc.encoding)
				}
				body := r.Body
				switch tc.encoding {
				case "br":
					body, _ = io.ReadAll(brotli.NewReader(bytes.NewReader(r.Body)))
				case "gzip":
					body = gunzip(t, r.Body)
				}
				if !bytes.Equal(body, want) {
					t.Errorf("%d bytes sent decode to %d, want the %d of htmx", len(r.Body), len(body), len(want))
				}
				if tc.encoding != "" && len(r.Body) > len(want)/2 {
					t.Errorf("htmx sent in %d bytes of %d", len(r.Body), len(want))
				}
			})
		}
	})
}

// BenchmarkCompressPage compresses the List's page, as the portal sends it,
// with gzip at the level pages use and at others, and with brotli: the CPU
// each costs a page, and the bytes that go out.
func BenchmarkCompressPage(b *testing.B) {
	app := portaltest.Start(b)
	page := app.Agent(b).Get(b, "/esims", "Accept-Encoding", "identity").Body
	gz := func(level int) func() (io.WriteCloser, func(io.Writer)) {
		return func() (io.WriteCloser, func(io.Writer)) {
			z, _ := kgzip.NewWriterLevel(nil, level)
			return z, z.Reset
		}
	}
	br := func(level int) func() (io.WriteCloser, func(io.Writer)) {
		return func() (io.WriteCloser, func(io.Writer)) {
			z := brotli.NewWriterLevel(nil, level)
			return z, z.Reset
		}
	}
	for _, tc := range []struct {
		name string
		w    func() (io.WriteCloser, func(io.Writer))
	}{
		{"gzip-1", gz(1)}, {"gzip-5", gz(5)}, {"gzip-9", gz(9)}, {"brotli-4", br(4)}, {"brotli-6", br(6)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var out bytes.Buffer
			w, reset := tc.w() // reused, as the portal keeps its writers in a pool
			for b.Loop() {
				out.Reset()
				reset(&out)
				w.Write(page)
				w.Close()
			}
			b.ReportMetric(float64(len(page))/1000, "page-KB")
			b.ReportMetric(float64(out.Len())/1000, "sent-KB")
		})
	}
}
