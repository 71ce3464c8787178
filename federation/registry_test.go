package federation

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
)

const allTypes = `  - {id: google, type: google, clientId: g, clientSecretEnv: GOOGLE_SECRET}
  - {id: microsoft, type: microsoft, clientId: ms, clientSecretEnv: MS_SECRET, tenant: organizations}
  - {id: facebook, type: facebook, appId: "1234", appSecretEnv: FB_SECRET}
  - {id: dev, type: oidc, issuer: "http://127.0.0.1:1/oidc", clientId: dev}
`

func TestNewRegistryNeedsEverySecret(t *testing.T) {
	cfg := parseConfig(t, allTypes, "emailOneTimeCode, google")
	_, err := NewRegistry(cfg, redirectURL, env(map[string]string{"GOOGLE_SECRET": "g"}), nil, (&logBuffer{}).logger())
	require.Error(t, err)
	require.Contains(t, err.Error(), `environment variable MS_SECRET (the secret of identity provider "microsoft") is not set`)
	require.Contains(t, err.Error(), `identityProviders[2].appSecretEnv: environment variable FB_SECRET (the secret of identity provider "facebook")`)
	require.NotContains(t, err.Error(), "dev", "a public oidc client has no secret")

	_, err = NewRegistry(cfg, "/federation/callback", env(nil), nil, (&logBuffer{}).logger())
	require.ErrorContains(t, err, "not an absolute http(s) URL")
}

func TestRegistryProvidersAndFlows(t *testing.T) {
	cfg := parseConfig(t, allTypes, "facebook, emailOneTimeCode, dev, google")
	logs := &logBuffer{}
	// Google and Microsoft point at a port where nothing listens: their discovery fails, which is a
	// warning only.
	r, err := NewRegistry(cfg, RedirectURL("http://signupflow.test/"), env(map[string]string{"GOOGLE_SECRET": "g",
		"MS_SECRET": "m", "FB_SECRET": "f"}), nil, logs.logger(),
		Options{GoogleIssuer: "http://127.0.0.1:1", MicrosoftBaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, 3, strings.Count(logs.String(), "identity provider not discovered"), logs.String())

	var got []string
	for _, p := range r.ForFlow(cfg.UserFlow("f")) {
		got = append(got, p.ID()+"/"+p.Type()+"/"+p.DisplayName())
	}
	require.Equal(t, []string{"facebook/facebook/Facebook", "dev/oidc/127.0.0.1", "google/google/Google"}, got)
	ms, ok := r.Get("microsoft")
	require.True(t, ok)
	require.Equal(t, "Microsoft", ms.DisplayName())
	_, ok = r.Get(flow.IdentityEmailOTP)
	require.False(t, ok)

	_, err = ms.AuthCodeURL(context.Background(), "state", "nonce", "verifier")
	requireCode(t, err, CodeUnavailable)
	require.Equal(t, "http://signupflow.test/federation/callback", RedirectURL("http://signupflow.test/"))
}

func TestBeginRefusesWhatItCannotFinish(t *testing.T) {
	_, r, s := startCorp(t, 0)
	_, err := r.Begin(context.Background(), s, &Attempt{ProviderID: "nope", Purpose: PurposeSignup})
	requireCode(t, err, CodeUnavailable)
	_, err = r.Begin(context.Background(), s, &Attempt{ProviderID: "corp", Purpose: "register"})
	require.ErrorContains(t, err, `purpose "register"`)
}

// TestGoogleType runs the google type against a local provider: Entra's issuer name, Google's
// email_verified claim, and its client authentication in the form.
func TestGoogleType(t *testing.T) {
	m := startIdP(t, nil)
	cfg := parseConfig(t, "  - {id: google, type: google, clientId: \""+m.ClientID+"\", clientSecretEnv: CORP_SECRET}\n", "google")
	r := newRegistry(t, cfg, m.ClientSecret, nil, Options{GoogleIssuer: m.Issuer()})
	s := newStates(t, 0)
	m.QueueUser(&person{sub: "1094", email: "ada@gmail.example", emailVerified: true, given: "Ada", family: "L", name: "Ada L"})
	_, id, err := r.Finish(context.Background(), s, roundTrip(t, r, s, "google"))
	require.NoError(t, err)
	require.Equal(t, &Identity{ProviderID: "google", Issuer: "google.com", Subject: "1094", Email: "ada@gmail.example",
		EmailVerified: true, GivenName: "Ada", Surname: "L", DisplayName: "Ada L"}, id)
}

// TestKeysUnavailable: a JWKS that cannot be fetched is the provider's outage, not a bad token.
func TestKeysUnavailable(t *testing.T) {
	down := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.JWKSEndpoint {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	_, r, s := startCorp(t, 0, down)
	_, _, err := r.Finish(context.Background(), s, roundTrip(t, r, s, "corp"))
	requireCode(t, err, CodeUnavailable)
}

func TestMicrosoftIssuerCheck(t *testing.T) {
	const base = "https://login.microsoftonline.com"
	const work = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	iss := func(tid string) string { return base + "/" + tid + "/v2.0" }
	tests := []struct {
		tenant, iss, tid string
		ok               bool
	}{
		{flow.TenantCommon, iss(work), work, true},
		{flow.TenantCommon, iss(consumersTenant), consumersTenant, true},
		{flow.TenantOrganizations, iss(work), work, true},
		{flow.TenantOrganizations, iss(consumersTenant), consumersTenant, false},
		{flow.TenantConsumers, iss(consumersTenant), consumersTenant, true},
		{flow.TenantConsumers, iss(work), work, false},
		{work, iss(work), work, true},
		{strings.ToUpper(work), iss(work), work, true},
		{work, iss(consumersTenant), consumersTenant, false},
		// iss must be its own tid's issuer: a token of one tenant cannot claim another's.
		{flow.TenantCommon, iss(consumersTenant), work, false},
		{flow.TenantCommon, iss("{tenantid}"), work, false},
		{flow.TenantCommon, "https://evil.example/" + work + "/v2.0", work, false},
		{flow.TenantCommon, iss(work), "", false},
		{flow.TenantCommon, iss("common"), "common", false},
	}
	for _, tc := range tests {
		err := checkMicrosoftIssuer(base, tc.tenant, tc.iss, tc.tid)
		if tc.ok {
			require.NoError(t, err, "%+v", tc)
		} else {
			require.Error(t, err, "%+v", tc)
		}
	}
}

// TestMicrosoftType runs the microsoft type against a local provider behind a proxy that serves it
// under /<tenant>/v2.0, as Entra does: the discovery document's issuer is not the tokens' (the library's
// checks are off), and each token's iss must be that of its own tid, the configured tenant.
func TestMicrosoftType(t *testing.T) {
	const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	m := startIdP(t, nil)
	target, _ := url.Parse(m.Addr())
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.URL.Path = strings.Replace(pr.In.URL.Path, "/"+tid+"/v2.0", "/oidc", 1)
	}})
	t.Cleanup(proxy.Close)
	cfg := parseConfig(t, "  - {id: ms, type: microsoft, clientId: \""+m.ClientID+"\", clientSecretEnv: CORP_SECRET, tenant: "+tid+"}\n", "ms")
	r := newRegistry(t, cfg, m.ClientSecret, nil, Options{MicrosoftBaseURL: proxy.URL})
	s := newStates(t, 0)
	ownIssuer := func(c *jwt.RegisteredClaims) { c.Issuer = proxy.URL + "/" + tid + "/v2.0" }

	for _, tc := range []struct {
		claims   map[string]any
		verified bool
	}{{map[string]any{"tid": tid, "xms_edov": true}, true}, {map[string]any{"tid": tid}, false}} {
		m.QueueUser(&person{sub: "AAAA-ms", email: "ada@contoso.example", emailVerified: true, extra: tc.claims, edit: ownIssuer})
		_, id, err := r.Finish(context.Background(), s, roundTrip(t, r, s, "ms"))
		require.NoError(t, err)
		require.Equal(t, proxy.URL+"/"+tid+"/v2.0", id.Issuer)
		require.Equal(t, "AAAA-ms", id.Subject)
		require.Equal(t, tc.verified, id.EmailVerified, "only xms_edov counts, not email_verified")
	}

	m.QueueUser(&person{sub: "x", email: "a@b.example", extra: map[string]any{"tid": consumersTenant},
		edit: func(c *jwt.RegisteredClaims) { c.Issuer = proxy.URL + "/" + consumersTenant + "/v2.0" }})
	_, _, err := r.Finish(context.Background(), s, roundTrip(t, r, s, "ms"))
	requireCode(t, err, CodeInvalidResponse)
	m.QueueUser(&person{sub: "x", email: "a@b.example", extra: map[string]any{"tid": tid}}) // iss: the provider's own
	_, _, err = r.Finish(context.Background(), s, roundTrip(t, r, s, "ms"))
	requireCode(t, err, CodeInvalidResponse)
}
