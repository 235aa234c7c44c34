// Package static holds the portal's front-end files, embedded in the binary
// and served under content-hashed names so browsers may cache them for good.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

//go:embed *.js *.css
var files embed.FS

// Prefix is where the files are served.
const Prefix = "/static/"

var (
	hashed     = map[string]string{}   // name → hashed name
	original   = map[string]string{}   // hashed name → name
	compressed = map[string]*encoded{} // name → its compressed copies
)

// encoded holds a file compressed in each encoding, made the first time the
// file is asked for: at the best ratio of each, once per start, since the
// files never change while the program runs.
type encoded struct {
	once sync.Once
	br   []byte
	gzip []byte
}

func init() {
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		body, _ := files.ReadFile(e.Name())
		sum := sha256.Sum256(body)
		ext := path.Ext(e.Name())
		name := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:5]) + ext
		hashed[e.Name()] = name
		original[name] = e.Name()
		compressed[e.Name()] = &encoded{}
	}
}

// Path returns the URL of a static file, with its content hash in the name.
func Path(name string) string {
	if h, ok := hashed[name]; ok {
		return Prefix + h
	}
	return Prefix + name
}

// Open returns the file served under a hashed name.
func Open(hashedName string) ([]byte, string, bool) {
	name, ok := original[hashedName]
	if !ok {
		return nil, "", false
	}
	body, err := files.ReadFile(name)
	return body, name, err == nil
}

// Encodings are the content codings Open can serve, best first.
var Encodings = []string{"br", "gzip"}

// OpenEncoded returns the file served under a hashed name compressed in
// encoding ("br" or "gzip"); ok is false for an unknown file or encoding,
// or when compression would not make the file smaller.
func OpenEncoded(hashedName, encoding string) (body []byte, name string, ok bool) {
	body, name, ok = Open(hashedName)
	if !ok {
		return nil, "", false
	}
	e := compressed[name]
	e.once.Do(func() { e.br, e.gzip = compressBrotli(body), compressGzip(body) })
	switch encoding {
	case "br":
		body = e.br
	case "gzip":
		body = e.gzip
	default:
		return nil, "", false
	}
	return body, name, body != nil
}

// Precompress compresses every file now rather than on its first request.
func Precompress() {
	for name := range hashed {
		OpenEncoded(hashed[name], "br")
	}
}

func compressBrotli(body []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	if _, err := w.Write(body); err != nil || w.Close() != nil || buf.Len() >= len(body) {
		return nil
	}
	return buf.Bytes()
}

func compressGzip(body []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // never fails for a valid level
	if _, err := w.Write(body); err != nil || w.Close() != nil || buf.Len() >= len(body) {
		return nil
	}
	return buf.Bytes()
}
