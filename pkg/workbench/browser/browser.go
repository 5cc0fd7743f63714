// Package browser runs a real headless Chromium for tests, driven through the
// DevTools protocol (chromedp). The browser comes from the project's own npm
// pins (scripts/package.json: @sparticuz/chromium ships a compressed Chromium
// inside the package), else Debian's chromium; a missing browser is an error
// naming the install command, never a skip.
//
// A Tab records the page's console messages, exceptions, CSP reports and
// every URL it requests; on a test's failure it saves a screenshot and that
// log to a directory it prints (kept after the run). Axe runs axe-core
// (also pinned in scripts/) inside the page.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chromedp/chromedp"
)

// InstallHint says how to get a browser the tests can use.
const InstallHint = "run `make deps` (npm ci --prefix scripts installs @sparticuz/chromium) or `apt-get install chromium`"

var (
	findOnce sync.Once
	found    string
	findErr  error
)

// Find returns the path of a Chromium binary: $KEYWARD_CHROMIUM, else the one
// @sparticuz/chromium ships under repoRoot/scripts/node_modules (unpacked
// once into repoRoot/.local/chromium/), else chromium on PATH.
func Find(repoRoot string) (string, error) {
	findOnce.Do(func() { found, findErr = find(repoRoot) })
	return found, findErr
}

func find(repoRoot string) (string, error) {
	if p := os.Getenv("KEYWARD_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("KEYWARD_CHROMIUM=%s: %v", p, err)
		}
		return p, nil
	}
	pkg := filepath.Join(repoRoot, "scripts", "node_modules", "@sparticuz", "chromium")
	if _, err := os.Stat(pkg); err == nil {
		return unpackSparticuz(repoRoot)
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no headless Chromium found: " + InstallHint)
}

// unpackSparticuz asks the package (in node) for its executable, which it
// unpacks into its temporary directory: ours, so that nothing is shared with
// other users of /tmp.
func unpackSparticuz(repoRoot string) (string, error) {
	dir := filepath.Join(repoRoot, ".local", "chromium")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if p := filepath.Join(dir, "chromium"); isExecutable(p) {
		return p, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("node is needed to unpack @sparticuz/chromium: install Node 20+, or " + InstallHint)
	}
	cmd := exec.Command(node, "--input-type=module", "-e",
		`import c from '@sparticuz/chromium'; console.log(await c.default?.executablePath?.() ?? await c.executablePath());`)
	cmd.Dir = filepath.Join(repoRoot, "scripts")
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("unpack @sparticuz/chromium: %v: %s (%s)", err, strings.TrimSpace(stderr.String()), InstallHint)
	}
	p := strings.TrimSpace(out.String())
	if !isExecutable(p) {
		return "", fmt.Errorf("@sparticuz/chromium gave %q, which is not an executable (%s)", p, InstallHint)
	}
	return p, nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Browser is one headless Chromium process.
type Browser struct {
	ctx    context.Context
	cancel func()
}

// Launch starts Chromium at path with a fresh profile. Close stops it.
func Launch(path string) (*Browser, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(1400, 900),
		chromedp.Flag("no-zygote", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-GB"),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		acancel()
		return nil, fmt.Errorf("start Chromium %s: %w", path, err)
	}
	return &Browser{ctx: ctx, cancel: func() { cancel(); acancel() }}, nil
}

// Close stops the browser.
func (b *Browser) Close() { b.cancel() }
