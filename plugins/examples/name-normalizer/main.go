// Command name-normalizer is a connector plugin that gives the applicant's
// names proper capitalisation: "mARIE-cLAIRE o'neil" becomes
// "Marie-Claire O'Neil". Names it is not given stay absent.
package main

import (
	"context"
	"strings"
	"unicode"

	"github.com/signupflow/signupflow/plugins/sdk"
)

type normalizer struct{ sdk.NoConfig }

func (normalizer) Describe() sdk.Info { return sdk.Info{Name: "name-normalizer", Version: "1.0.0"} }

func (normalizer) Invoke(_ context.Context, req *sdk.Request) (*sdk.Response, error) {
	claims := map[string]any{}
	for _, name := range []string{"displayName", "givenName", "surname"} {
		if s, ok := req.Claims[name].(string); ok {
			claims[name] = properCase(s)
		}
	}
	return sdk.Continue(claims), nil
}

// properCase upper-cases the first letter of every part of a name (after a
// space, hyphen or apostrophe) and lower-cases the rest; runs of spaces
// become one. Names such as "McDonald" or "van der Berg" need a person.
func properCase(s string) string {
	var b strings.Builder
	start := true
	for _, r := range strings.Join(strings.Fields(s), " ") {
		if start {
			b.WriteRune(unicode.ToTitle(r))
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
		start = strings.ContainsRune(" -'’", r)
	}
	return b.String()
}

func main() { sdk.Serve(normalizer{}) }
