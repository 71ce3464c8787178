package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Browser tests drive headless Chromium (Debian's chromium package) with chromedp against the real
// stack. Without Chromium they are skipped, unless SIGNUPFLOW_REQUIRE_BROWSER=1 (CI sets it and
// installs the package), where a missing browser fails the test.

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("SIGNUPFLOW_REQUIRE_BROWSER") == "1" {
		t.Fatal("Chromium is required (SIGNUPFLOW_REQUIRE_BROWSER=1) but not installed: apt-get install chromium")
	}
	t.Skip("Chromium not installed (apt-get install chromium); browser tests skipped")
	return ""
}

// browser starts a headless Chromium for one test and returns a tab's context, bounded to a minute.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		// The machine has no network beyond loopback: keep Chromium from trying.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1100, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	return ctx
}

// screenshot saves the page as a PNG artifact in the test's directory (kept with -test.v via the log line).
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	// A page that has just navigated may not be capturable for a moment: try again briefly.
	var png []byte
	var err error
	for range 5 {
		if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil { // 100: PNG (below: JPEG)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(t, err)
	dir := os.Getenv("SIGNUPFLOW_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
	return path
}

// TestBrowserDeniesThroughTheSignedLink follows a reviewer e-mail's link in a real browser: the page
// shows the request, the form's POST (with what the browser itself sends: Origin, Sec-Fetch-Site)
// decides, and a script in the reason shows as text.
func TestBrowserDeniesThroughTheSignedLink(t *testing.T) {
	ctx := browser(t)
	s := newStack(t, connectorHandler(t, cont, cont), withApproval(oneStage))
	email := "mia@fabrikam.com"
	id, tok := s.apply(email)
	link := s.reviewLink(s.mailWith("alice@woodgrove.test", "Approval needed"))

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("form")),
	))
	shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.Contains(t, shown, email)
	require.Contains(t, shown, "Fabrikam")
	require.Equal(t, "PendingApproval", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"], "opening the link decides nothing")

	reason := `<script>document.title="pwned"</script> not a partner`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input[name=decision][value=deny]`)),
		chromedp.SendKeys(chromedp.CSS("#reason"), reason),
		chromedp.Submit(chromedp.CSS("form")),
		chromedp.WaitVisible(chromedp.CSS(".msg")),
	))
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".msg")))
	require.NoError(t, err)
	require.Contains(t, result, "You denied this request")
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	require.NotEqual(t, "pwned", title, "the reason is shown as text, never run")
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.True(t, strings.Contains(page, `<script>document.title="pwned"</script>`), "the reason appears as text: %s", page)
	screenshot(t, ctx, "review-link-denied.png")

	require.Equal(t, "Denied", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"])
}
