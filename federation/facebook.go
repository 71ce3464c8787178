package federation

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/flow"
)

// facebookVersion is the Graph API version of every Facebook URL.
const facebookVersion = "v19.0"

// meFields are the /me fields asked for.
const meFields = "id,name,email,first_name,last_name"

// facebook is the facebook type: OAuth 2.0 (no ID token), then the Graph API's /me with the access
// token and its appsecret_proof. The app asks for the email and public_profile permissions. Graph does
// not say whether the address was verified, so EmailVerified is always false.
type facebook struct {
	id, display string
	oauth       *oauth2.Config
	meURL       string
	secret      string
	client      *http.Client
}

// graphMe is the answer of /me.
type graphMe struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

func newFacebook(s *spec) (Provider, error) {
	dialog := strings.TrimRight(s.opts.FacebookBaseURL, "/") + "/" + facebookVersion
	graph := strings.TrimRight(s.opts.GraphBaseURL, "/") + "/" + facebookVersion
	return &facebook{
		id: s.idp.ID, display: s.idp.DisplayName, meURL: graph + "/me", secret: s.secret, client: s.client,
		oauth: &oauth2.Config{ClientID: s.idp.AppID, ClientSecret: s.secret, RedirectURL: s.redirectURL,
			Scopes: []string{"email", "public_profile"},
			Endpoint: oauth2.Endpoint{AuthURL: dialog + "/dialog/oauth", TokenURL: graph + "/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams}},
	}, nil
}

func (f *facebook) ID() string          { return f.id }
func (f *facebook) Type() string        { return flow.IdPFacebook }
func (f *facebook) DisplayName() string { return f.display }

// AuthCodeURL implements Provider. Facebook takes the PKCE challenge; the nonce is for ID tokens,
// which this flow does not use.
func (f *facebook) AuthCodeURL(_ context.Context, state, _, pkceVerifier string) (string, error) {
	return f.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(pkceVerifier)), nil
}

// Exchange implements Provider.
func (f *facebook) Exchange(ctx context.Context, code, _, pkceVerifier string) (*Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	tok, err := f.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, f.client), code, oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		return nil, tokenError("Facebook's token endpoint", err)
	}
	me, err := f.me(ctx, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if !plausibleEmail(me.Email) {
		return nil, newError(CodeInvalidResponse, "Graph /me's email is not an address", nil)
	}
	return &Identity{ProviderID: f.id, Issuer: "facebook.com", Subject: me.ID, Email: me.Email,
		GivenName: cleanName(me.FirstName), Surname: cleanName(me.LastName), DisplayName: cleanName(me.Name)}, nil
}

// me calls Graph's /me. The access token goes in the Authorization header, never in a URL that an
// error could repeat.
func (f *facebook) me(ctx context.Context, accessToken string) (*graphMe, error) {
	mac := hmac.New(sha256.New, []byte(f.secret))
	mac.Write([]byte(accessToken))
	q := url.Values{"fields": {meFields}, "appsecret_proof": {hex.EncodeToString(mac.Sum(nil))}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.meURL+"?"+q.Encode(), nil)
	if err != nil {
		return nil, newError(CodeUnavailable, "Graph /me: bad URL", nil)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := f.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL and its appsecret_proof
		}
		return nil, newError(CodeUnavailable, "Graph /me is unreachable or timed out", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, newError(CodeUnavailable, "Graph /me: reading the answer failed", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, graphError(resp.StatusCode, body)
	}
	var me graphMe
	if err := json.Unmarshal(body, &me); err != nil {
		return nil, newError(CodeInvalidResponse, "Graph /me answered something unreadable", err)
	}
	if me.ID == "" || len(me.ID) > 255 || !utf8.ValidString(me.ID) {
		return nil, newError(CodeInvalidResponse, "Graph /me gave no usable id", nil)
	}
	return &me, nil
}

// graphError classifies a Graph answer other than 200.
func graphError(status int, body []byte) *Error {
	if retryable(status) {
		return newError(CodeUnavailable, fmt.Sprintf("Graph /me answered %d", status), nil)
	}
	if t := graphErrorType(body); t != "" {
		return newError(CodeIdPError, "Graph /me refused: "+t, nil)
	}
	return newError(CodeInvalidResponse, fmt.Sprintf("Graph /me answered %d", status), nil)
}

// AuthEndpoint implements Provider: the login dialog.
func (f *facebook) AuthEndpoint() string { return f.oauth.Endpoint.AuthURL }
