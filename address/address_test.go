package address

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestSpellingsOfOneMailboxAreOneAddress(t *testing.T) {
	const want = "ann@xn--bcher-kva.example"
	for name, raw := range map[string]string{
		"unicode domain, capitals":      "Ann@Bücher.example",
		"punycode":                      "ann@xn--bcher-kva.example",
		"punycode, capitals, dot":       " ANN@XN--BCHER-KVA.EXAMPLE. ",
		"NFC":                           "ann@b\u00fccher.example",
		"NFD":                           "ann@bu\u0308cher.example",
		"NFD capital":                   "ann@BU\u0308CHER.example",
		"full-width local part":         "\uff41\uff4e\uff4e@bücher.example",
		"full-width capitals":           "\uff21\uff2e\uff2e@bücher.example",
		"full-width dot in the domain":  "ann@bücher\uff0eexample",
		"ideographic trailing dot":      "ann@bücher.example\u3002",
		"trailing dot":                  "ann@bücher.example.",
		"surrounding white space":       "\t ann@bücher.example \n",
		"full-width domain letters":     "ann@\uff42\u00fc\uff43\uff48\uff45\uff52.example",
		"black-letter capital (NFKC H)": "\u210cann@x.example",
	} {
		got, err := Canonical(raw)
		require.NoError(t, err, name)
		if name == "black-letter capital (NFKC H)" {
			require.Equal(t, "hann@x.example", got, name)
			continue
		}
		require.Equal(t, want, got, name)
	}
}

func TestCanonicalKeepsWhatIsAlreadyCanonical(t *testing.T) {
	for _, c := range []string{"ann@example.com", "ann.smith+news@fabrikam.com", "jürgen@xn--strae-oqa.de",
		"o'brien@example.ie", "a@b.co", "x_y-z@sub.example.org", "ann@xn--p1ai.xn--p1ai"} {
		got, err := Canonical(c)
		require.NoError(t, err, c)
		require.Equal(t, c, got)
		require.Equal(t, c, Normalize(c))
	}
	// The local part is NFC too (NFKC composes): a decomposed ü in the local part is composed.
	got, err := Canonical("ju\u0308rgen@example.de")
	require.NoError(t, err)
	require.Equal(t, "j\u00fcrgen@example.de", got)
}

func TestCanonicalRefuses(t *testing.T) {
	long := strings.Repeat("a", 60)
	for name, tc := range map[string]struct {
		raw  string
		want error
	}{
		"empty":                {"  ", ErrEmpty},
		"no @":                 {"ann.example.com", ErrMalformed},
		"no local part":        {"@example.com", ErrMalformed},
		"no domain":            {"ann@", ErrMalformed},
		"display name":         {"Ann <ann@example.com>", ErrMalformed},
		"quoted local part":    {`"ann smith"@example.com`, ErrMalformed},
		"quoted, no space":     {`"ann"@example.com`, ErrMalformed},
		"comment":              {"ann(x)@example.com", ErrMalformed},
		"space":                {"ann smith@example.com", ErrMalformed},
		"ideographic space":    {"ann\u3000smith@example.com", ErrMalformed},
		"no-break space":       {"ann\u00a0@example.com", ErrMalformed},
		"two @":                {"ann@b@example.com", ErrMalformed},
		"full-width @":         {"ann\uff20x@example.com", ErrMalformed},
		"full-width quote":     {"\uff02ann\uff02@example.com", ErrMalformed},
		"double dot":           {"ann..smith@example.com", ErrMalformed},
		"private use":          {"ann\ue000@example.com", ErrMalformed},
		"not UTF-8":            {"ann\xff@example.com", ErrMalformed},
		"no dot":               {"ann@localhost", ErrDomain},
		"empty label":          {"ann@example..com", ErrDomain},
		"two trailing dots":    {"ann@example.com..", ErrDomain},
		"leading dot":          {"ann@.example.com", ErrDomain},
		"underscore in domain": {"ann@ex_ample.com", ErrDomain},
		"bad punycode":         {"ann@xn--a.example", ErrDomain},
		"ASCII punycode":       {"ann@xn--ann-.example", ErrDomain},
		"label over 63":        {"ann@" + strings.Repeat("b", 64) + ".example", ErrDomain},
		"IPv4 literal":         {"ann@[1.2.3.4]", ErrIPLiteral},
		"IPv6 literal":         {"ann@[IPv6:::1]", ErrIPLiteral},
		"bare IPv4":            {"ann@1.2.3.4", ErrIPLiteral},
		"bare IPv4, dot":       {"ann@1.2.3.4.", ErrIPLiteral},
		"short IPv4":           {"ann@127.1", ErrIPLiteral},
		"hex IPv4":             {"ann@0x7f.1", ErrIPLiteral},
		"full-width IPv4":      {"ann@\uff11.\uff12.\uff13.\uff14", ErrIPLiteral},
		"NUL":                  {"ann\x00@example.com", ErrControlChar},
		"newline inside":       {"ann\n@example.com", ErrControlChar},
		"C1 control":           {"ann\u0085x@example.com", ErrControlChar},
		"DEL":                  {"ann\x7f@example.com", ErrControlChar},
		"zero-width space":     {"a\u200bnn@example.com", ErrInvisibleChar},
		"ZWNJ":                 {"a\u200cnn@example.com", ErrInvisibleChar},
		"ZWJ":                  {"a\u200dnn@example.com", ErrInvisibleChar},
		"word joiner":          {"ann\u2060@example.com", ErrInvisibleChar},
		"BOM":                  {"\ufeffann@example.com", ErrInvisibleChar},
		"soft hyphen":          {"ann@exam\u00adple.com", ErrInvisibleChar},
		"zero-width in domain": {"ann@exam\u200bple.com", ErrInvisibleChar},
		"LRM":                  {"ann\u200e@example.com", ErrInvisibleChar},
		"RLM":                  {"ann@example.com\u200f", ErrInvisibleChar},
		"RLO":                  {"\u202eann@example.com", ErrInvisibleChar},
		"LRE..PDF":             {"\u202aann\u202c@example.com", ErrInvisibleChar},
		"RLI":                  {"ann\u2067@example.com", ErrInvisibleChar},
		"PDI":                  {"ann\u2069@example.com", ErrInvisibleChar},
		"Hangul filler":        {"ann\u3164@example.com", ErrInvisibleChar},
		"variation selector":   {"ann\ufe0f@example.com", ErrInvisibleChar},
		"tag character":        {"ann\U000e0041@example.com", ErrInvisibleChar},
		"local part over 64":   {strings.Repeat("a", 65) + "@example.com", ErrTooLong},
		"over 254":             {long + "@" + strings.Repeat(long+".", 4) + "com", ErrTooLong},
		"huge":                 {strings.Repeat("a", 5000) + "@example.com", ErrTooLong},
	} {
		got, err := Canonical(tc.raw)
		require.ErrorIs(t, err, tc.want, "%s: %q gave %q", name, tc.raw, got)
		require.Empty(t, got, name)
	}
}

func TestLengthIsCountedAfterCanonicalisation(t *testing.T) {
	// 254 bytes exactly is accepted; the unicode domain that becomes longer in ASCII is measured so.
	local := strings.Repeat("a", 64)
	domain := strings.Repeat("b", 61) + "." + strings.Repeat("c", 61) + "." + strings.Repeat("d", 57) + "." + "example"
	raw := local + "@" + domain
	require.Len(t, raw, 254)
	got, err := Canonical(strings.ToUpper(raw) + ".")
	require.NoError(t, err)
	require.Equal(t, raw, got)
	_, err = Canonical(local + "@b" + domain)
	require.ErrorIs(t, err, ErrTooLong, "255 bytes")

	// A Unicode domain that is longer in ASCII is measured in ASCII: that is the form stored.
	label := strings.Repeat("a", 55) + "ü"
	uni := local + "@" + label + "." + strings.Repeat("c", 61) + "." + strings.Repeat("d", 57) + ".example"
	require.LessOrEqual(t, len(uni), 254)
	ascii, err := CanonicalDomain(label + ".example")
	require.NoError(t, err)
	require.Greater(t, len(ascii)-len(label+".example"), len(raw)-len(uni))
	_, err = Canonical(uni)
	require.ErrorIs(t, err, ErrTooLong)
}

func TestErrorsAreDistinct(t *testing.T) {
	all := []error{ErrEmpty, ErrMalformed, ErrTooLong, ErrControlChar, ErrInvisibleChar, ErrIPLiteral, ErrDomain}
	for i, a := range all {
		for j, b := range all {
			require.Equal(t, i == j, errors.Is(a, b), "%v / %v", a, b)
		}
	}
}

func TestPlusTags(t *testing.T) {
	c, err := Canonical("Alice+X@Woodgrove.test")
	require.NoError(t, err)
	require.Equal(t, "alice+x@woodgrove.test", c, "the tag is kept: it is part of the identity")
	require.Equal(t, "alice@woodgrove.test", WithoutTag(c))
	require.Equal(t, "alice@woodgrove.test", WithoutTag("alice+x+y@woodgrove.test"))
	require.Equal(t, "alice@woodgrove.test", WithoutTag("alice@woodgrove.test"))
	require.Equal(t, "+x@woodgrove.test", WithoutTag("+x@woodgrove.test"), "no mailbox name to keep")
	require.Equal(t, "no-at", WithoutTag("no-at"))
	require.Equal(t, "woodgrove.test", Domain(c))
	require.Equal(t, "", Domain("no-at"))

	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"alice@woodgrove.test", "alice+x@woodgrove.test", true},
		{"alice+y@woodgrove.test", "ALICE+x@Woodgrove.test.", true},
		{"alice@woodgrove.test", "\uff41lice@woodgrove.test", true},
		{"ann@bücher.example", "ann+tag@xn--bcher-kva.example", true},
		{"alice@woodgrove.test", "alicex@woodgrove.test", false},
		{"alice@woodgrove.test", "alice@woodgrove.example", false},
		{"alice@woodgrove.test", "bob+alice@woodgrove.test", false},
		{"alice@woodgrove.test", "", false},
		{"", "", false},
		{"Not An Address", "not an address", true}, // refused by Canonical: compared lower-cased
	} {
		require.Equal(t, tc.same, SameMailbox(tc.a, tc.b), "%q %q", tc.a, tc.b)
		require.Equal(t, tc.same, SameMailbox(tc.b, tc.a), "%q %q", tc.b, tc.a)
	}
}

func TestCanonicalDomain(t *testing.T) {
	for _, d := range []string{"bücher.example", "XN--BCHER-KVA.example", "Bücher.Example."} {
		got, err := CanonicalDomain(d)
		require.NoError(t, err, d)
		require.Equal(t, "xn--bcher-kva.example", got)
	}
	for _, d := range []string{"example", "1.2.3.4", "[1.2.3.4]", "exa mple.com", "ex\u200bample.com", ""} {
		_, err := CanonicalDomain(d)
		require.Error(t, err, d)
	}
}

func TestNormalizeNeverFails(t *testing.T) {
	require.Equal(t, "ann@xn--bcher-kva.example", Normalize(" Ann@Bücher.example. "))
	require.Equal(t, "ann@[1.2.3.4]", Normalize(" Ann@[1.2.3.4]"), "refused addresses keep the old lower+trim form")
	require.Equal(t, "", Normalize(""))
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"Ann@Bücher.example", "ann@xn--bcher-kva.example", "ann@bu\u0308cher.example.",
		"\uff41\uff4e\uff4e@b\u00fccher.example", "alice+x@woodgrove.test", "ann@[1.2.3.4]", "a\u200bnn@x.example",
		"\u210cann@x.example", "ǅ@x.example", "ß@STRASSE.de", "İ@x.com", "ann@xn--p1ai.xn--p1ai", "a@b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := Canonical(raw)
		if err != nil {
			require.Empty(t, c)
			_ = Normalize(raw)
			return
		}
		again, err := Canonical(c)
		require.NoError(t, err, "canonical form %q of %q is refused", c, raw)
		require.Equal(t, c, again, "not idempotent for %q", raw)
		require.True(t, utf8.ValidString(c))
		require.LessOrEqual(t, len(c), MaxLength)
		require.Equal(t, c, Normalize(c))
		require.True(t, SameMailbox(raw, c))
		d := Domain(c)
		require.NotEmpty(t, d)
		cd, err := CanonicalDomain(d)
		require.NoError(t, err)
		require.Equal(t, d, cd)
		// Without its tag it is a comparison key, not always an address ("a.+x@" gives "a.@").
		w := WithoutTag(c)
		require.Equal(t, w, WithoutTag(w))
		require.Equal(t, d, Domain(w))
		require.True(t, SameMailbox(c, w), "%q and %q", c, w)
	})
}
