package handlers

import (
	"bytes"
	"net/http"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"
)

// Pages are compressed with gzip when the browser takes it and they are
// worth it: agents often sit behind a VPN, and a List page of 33 KB goes out
// in about 5. Gzip rather than brotli for pages made per request: at the
// speed a page is made, brotli saves little more and costs more CPU (see
// BenchmarkCompressPage).

// compressMin is the smallest page worth compressing: a smaller one fits in
// one packet anyway.
const compressMin = 1400

// pageGzipLevel is the gzip level of pages: klauspost's fastest levels
// compress HTML nearly as well as the default at a fraction of its CPU.
const pageGzipLevel = gzip.BestSpeed

var (
	pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, pageGzipLevel) // never fails for a valid level
		return w
	}}
)

// getBuffer is an empty buffer from the pool; putBuffer gives it back once
// what was written from it is sent.
func getBuffer() *bytes.Buffer { return pageBuffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // an odd big page would keep its memory for good
	}
	b.Reset()
	pageBuffers.Put(b)
}

// writeHTML sends an HTML page with status, gzip-compressed when the
// browser takes it and the page is large enough.
func writeHTML(c echo.Context, status int, page []byte) error {
	header := c.Response().Header()
	header.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	if len(page) < compressMin || !accepts(c.Request(), "gzip") || c.Request().Method == http.MethodHead {
		return c.HTMLBlob(status, page)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(buf)
	if _, err := zw.Write(page); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	header.Set(echo.HeaderContentEncoding, "gzip")
	return c.Blob(status, echo.MIMETextHTMLCharsetUTF8, buf.Bytes())
}
