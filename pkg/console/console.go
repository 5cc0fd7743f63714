// Package console serves keyward's admin console: a handful of static files
// (HTML, CSS, plain ES modules) embedded in the binary and served from the
// API's own origin, so the browser calls the API with no CORS. The page holds
// no secret: it asks for a token and calls the API with it.
//
// Every asset but the page is fingerprinted when the package loads: its
// served name carries a hash of its content (app.3f9c0a1b2c.js), and the
// module imports and the page's references are rewritten to those names, so
// assets are cached for a year and a new build is never mixed with an old one.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:embed assets
var files embed.FS

// Asset is one file the console serves.
type Asset struct {
	// Name is the served name: fingerprinted, except the page's.
	Name        string
	ContentType string
	Body        []byte
	// Immutable is true for fingerprinted assets (cached for a year).
	Immutable bool
}

// Site is the console's files, ready to serve.
type Site struct {
	// Page is the HTML page (served at /console).
	Page Asset
	// Assets are the fingerprinted files by served name.
	Assets map[string]Asset
	// Names maps a source name (app.js) to its served name.
	Names map[string]string
}

// importRE matches a relative module specifier in a static import or export
// ("from './api.js'", "import './x.js'"): the only form the modules use.
var importRE = regexp.MustCompile(`(\bfrom\s*|\bimport\s*)'\./([A-Za-z0-9_-]+\.js)'`)

// refRE matches the page's references to its assets (src="app.js").
var refRE = regexp.MustCompile(`(src|href)="([A-Za-z0-9_-]+\.(?:js|css|svg))"`)

// Load reads the embedded files and fingerprints them. An import of a file
// that does not exist, or a cycle of imports, is an error.
func Load() (*Site, error) { return load(files) }

func load(fsys fs.FS) (*Site, error) {
	sub, err := fs.Sub(fsys, "assets")
	if err != nil {
		return nil, err
	}
	src := map[string][]byte{}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		src[path.Base(p)] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	page, ok := src["index.html"]
	if !ok {
		return nil, fmt.Errorf("console: no index.html")
	}
	s := &Site{Assets: map[string]Asset{}, Names: map[string]string{}}
	names := make([]string, 0, len(src))
	for n := range src {
		if n != "index.html" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if err := s.fingerprint(n, src, map[string]bool{}); err != nil {
			return nil, err
		}
	}
	var missing error
	html := refRE.ReplaceAllStringFunc(string(page), func(m string) string {
		g := refRE.FindStringSubmatch(m)
		served, ok := s.Names[g[2]]
		if !ok {
			missing = fmt.Errorf("console: index.html refers to %s, which does not exist", g[2])
			return m
		}
		return g[1] + `="console/` + served + `"`
	})
	if missing != nil {
		return nil, missing
	}
	s.Page = Asset{Name: "index.html", ContentType: "text/html; charset=utf-8", Body: []byte(html)}
	return s, nil
}

// fingerprint gives name its served name, after the modules it imports (their
// served names are part of its content, so a change anywhere below renames
// every module above it).
func (s *Site) fingerprint(name string, src map[string][]byte, visiting map[string]bool) error {
	if _, done := s.Names[name]; done {
		return nil
	}
	if visiting[name] {
		return fmt.Errorf("console: import cycle through %s", name)
	}
	visiting[name] = true
	body, ok := src[name]
	if !ok {
		return fmt.Errorf("console: no such asset %s", name)
	}
	if strings.HasSuffix(name, ".js") {
		var ferr error
		body = importRE.ReplaceAllFunc(body, func(m []byte) []byte {
			g := importRE.FindSubmatch(m)
			dep := string(g[2])
			if err := s.fingerprint(dep, src, visiting); err != nil {
				ferr = fmt.Errorf("%s imports %s: %w", name, dep, err)
				return m
			}
			return []byte(string(g[1]) + "'./" + s.Names[dep] + "'")
		})
		if ferr != nil {
			return ferr
		}
	}
	sum := sha256.Sum256(body)
	ext := path.Ext(name)
	served := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:])[:12] + ext
	ct := mime.TypeByExtension(ext)
	switch ext {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	s.Names[name] = served
	s.Assets[served] = Asset{Name: served, ContentType: ct, Body: body, Immutable: true}
	return nil
}
