package federation

import "golang.org/x/oauth2"

// newGoogle builds the google type: OpenID Connect at https://accounts.google.com. Identity.Issuer is
// "google.com", as Entra names Google identities; email_verified is Google's own claim.
func newGoogle(s *spec) (Provider, error) {
	return s.openID(s.opts.GoogleIssuer, oauth2.AuthStyleInParams, &openID{
		issuerName:    func(string) string { return "google.com" },
		emailVerified: func(c claims) bool { return c.isTrue("email_verified") },
	}), nil
}
