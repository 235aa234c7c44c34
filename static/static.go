// Package static holds the portal's front-end files, embedded in the binary
// and served under content-hashed names so browsers may cache them for good.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"
)

//go:embed *.js *.css
var files embed.FS

// Prefix is where the files are served.
const Prefix = "/static/"

var (
	hashed   = map[string]string{} // name → hashed name
	original = map[string]string{} // hashed name → name
)

func init() {
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		body, _ := files.ReadFile(e.Name())
		sum := sha256.Sum256(body)
		ext := path.Ext(e.Name())
		name := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:5]) + ext
		hashed[e.Name()] = name
		original[name] = e.Name()
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
