package integration

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/workflows"
)

// In a real browser: the example app's "Sign up", the provider's button on the hosted page, the
// upstream provider (mockoidc approves at once, so the browser goes straight back), the form prefilled
// from the provider, and the example app signed in with the verified ID token (amr fed, idp the
// upstream issuer). This is also what checks that the pages' CSP lets the button's form end at the
// provider (form-action), which only a browser enforces.
func TestBrowserFederatedSignUpWithTheExampleApp(t *testing.T) {
	idp := newUpstream(t)
	rec := &claimsRecorder{answer: map[string]any{"extension_b2cextensionsapp_CompanyName": "Contoso"}}
	e := newExampleAppStack(t, connectorHandler(t, rec.handle, cont), withIdPs(idp.Issuer(), fedOptions{}))
	user := newFedUser("nora.fed@contoso.com", true)
	t.Cleanup(func() {
		_ = e.env.Temporal.TerminateWorkflow(context.Background(), workflows.FederatedSignupID(e.env.Secret, "partner-signup", idp.Issuer(), user.sub, user.email), "", "test finished")
	})
	idp.QueueUser(user)

	b := newTab(t)
	e.press(t, b, "signup")
	button := `button[name=provider][value=corp]`
	b.waitFor(t, button)
	label, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(button)))
	require.NoError(t, err)
	require.Equal(t, "Continue with Corp SSO", strings.TrimSpace(label))
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(button))))
	b.waitFor(t, "#f-displayName")
	at, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, e.issuer+"/signup/details", at, "no code: the provider verified the address")
	name, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#f-displayName")))
	require.NoError(t, err)
	require.Equal(t, "Dana Scully", name, "prefilled from the provider")
	company, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#f-CompanyName")))
	require.NoError(t, err)
	require.Equal(t, "Contoso", company, "prefilled by the connector")
	screenshot(t, b.ctx, "federated-form-prefilled.png")

	fillDetailsAs(t, b.ctx, "Dana Scully", "Contoso")
	text, claims := e.signedInAs(t, b)
	screenshot(t, b.ctx, "federated-example-app-signed-in.png")
	require.Contains(t, text, "Signed in as Dana Scully")
	require.Equal(t, `["fed"]`, claims["amr"])
	require.Equal(t, idp.Issuer(), claims["idp"])
	require.Equal(t, "nora.fed@contoso.com", claims["email"])
	require.Zero(t, e.codesMailed("nora.fed@contoso.com"))
	require.NotContains(t, b.browserLog(), "Content Security Policy")
	require.NotContains(t, b.browserLog(), "exception")
}
