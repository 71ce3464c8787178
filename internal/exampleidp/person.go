package exampleidp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// person is who signs in: one of the personas or a name and address typed on the page. It is the
// mockoidc.User of the code, so the ID token and userinfo carry its claims.
type person struct {
	key        string // persona key on the page; "" for a typed person
	givenName  string
	familyName string
	email      string
	verified   bool // email_verified
}

// personas are the Woodgrove staff offered on the page; Lee's address is not verified, so that the
// relying party's handling of email_verified=false can be tried.
var personas = []person{
	{key: "megan", givenName: "Megan", familyName: "Bowen", email: "megan@woodgrove.test", verified: true},
	{key: "adele", givenName: "Adele", familyName: "Vance", email: "adele@woodgrove.test", verified: true},
	{key: "lee", givenName: "Lee", familyName: "Gu", email: "lee@woodgrove.test", verified: false},
}

func personaByKey(key string) (person, bool) {
	for _, p := range personas {
		if p.key == key {
			return p, true
		}
	}
	return person{}, false
}

func (p *person) name() string { return strings.TrimSpace(p.givenName + " " + p.familyName) }

// Subject is the sub of an address: the same for the same address (any case) on every start and
// every machine, so that signing in again finds the same account at the relying party.
func Subject(email string) string {
	sum := sha256.Sum256([]byte("example-idp/sub/v1\x00" + strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:16])
}

// ID is the sub claim (mockoidc.User).
func (p *person) ID() string { return Subject(p.email) }

// scopedClaims are the claims the granted scopes allow: email for "email", the names for "profile".
// email_verified is a pointer so that false is sent, not left out.
type scopedClaims struct {
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
	GivenName     string `json:"given_name,omitempty"`
	FamilyName    string `json:"family_name,omitempty"`
}

func (p *person) scoped(scopes []string) scopedClaims {
	var c scopedClaims
	for _, s := range scopes {
		switch s {
		case "email":
			verified := p.verified
			c.Email, c.EmailVerified = p.email, &verified
		case "profile":
			c.Name, c.GivenName, c.FamilyName = p.name(), p.givenName, p.familyName
		}
	}
	return c
}

// Userinfo is the userinfo endpoint's answer (mockoidc.User).
func (p *person) Userinfo(scopes []string) ([]byte, error) {
	return json.Marshal(struct {
		Subject string `json:"sub"`
		scopedClaims
	}{p.ID(), p.scoped(scopes)})
}

// idTokenClaims are mockoidc's registered claims and nonce plus the person's.
type idTokenClaims struct {
	*mockoidc.IDTokenClaims
	scopedClaims
}

// Claims are the ID token's claims (mockoidc.User).
func (p *person) Claims(scopes []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &idTokenClaims{IDTokenClaims: base, scopedClaims: p.scoped(scopes)}, nil
}

// typedPerson reads the page's "someone else" form; the message says what is wrong, for the page.
func typedPerson(given, family, email string, verified bool) (person, string) {
	p := person{givenName: strings.TrimSpace(given), familyName: strings.TrimSpace(family),
		email: strings.TrimSpace(email), verified: verified}
	if p.givenName == "" {
		return p, "Type a given name."
	}
	if !plainText(p.givenName) || !plainText(p.familyName) {
		return p, "Names are at most 64 characters, without control characters."
	}
	addr, err := mail.ParseAddress(p.email)
	if err != nil || addr.Name != "" || addr.Address != p.email || len(p.email) > 254 {
		return p, "Type an e-mail address such as pat@woodgrove.test."
	}
	return p, ""
}

func plainText(s string) bool {
	return utf8.RuneCountInString(s) <= 64 && !strings.ContainsFunc(s, unicode.IsControl)
}
