package clientip

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func mustNew(t *testing.T, cidrs []string, bits int) *Resolver {
	t.Helper()
	r, err := New(cidrs, bits)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestClient(t *testing.T) {
	r := mustNew(t, []string{"10.0.0.0/8", "2001:db8:ffff::/48", "::ffff:192.168.0.0/112"}, 0)
	cases := []struct {
		name   string
		peer   string
		xff    []string
		fwd    []string
		client string
	}{
		// An untrusted peer's headers are ignored: that is the spoofing attempt.
		{"untrusted peer, spoofed XFF", "203.0.113.7:5555", []string{"198.51.100.1"}, nil, "203.0.113.7"},
		{"untrusted peer, spoofed Forwarded", "203.0.113.7:5555", nil, []string{"for=198.51.100.1"}, "203.0.113.7"},
		{"untrusted peer, XFF claims a trusted hop", "203.0.113.7:5555", []string{"10.0.0.9"}, nil, "203.0.113.7"},
		{"untrusted IPv6 peer", "[2001:db8:1::5]:443", []string{"198.51.100.1"}, nil, "2001:db8:1::5"},
		{"trusted peer, no header", "10.0.0.1:1234", nil, nil, "10.0.0.1"},
		{"trusted peer, XFF", "10.0.0.1:1234", []string{"198.51.100.1"}, nil, "198.51.100.1"},
		// The client prepends a fake hop; the proxy appends the real one: the rightmost untrusted wins.
		{"client-prepended XFF", "10.0.0.1:1234", []string{"1.1.1.1, 198.51.100.1"}, nil, "198.51.100.1"},
		{"client prepends a trusted address", "10.0.0.1:1234", []string{"10.9.9.9, 198.51.100.1"}, nil, "198.51.100.1"},
		{"chain of trusted proxies", "10.0.0.1:1234", []string{"1.1.1.1, 198.51.100.1, 10.0.0.3, 10.0.0.2"}, nil, "198.51.100.1"},
		{"every hop trusted: the leftmost", "10.0.0.1:1234", []string{"10.0.0.5, 10.0.0.4"}, nil, "10.0.0.5"},
		{"XFF over several lines", "10.0.0.1:1234", []string{"1.1.1.1", "198.51.100.1, 10.0.0.2"}, nil, "198.51.100.1"},
		{"XFF with a port", "10.0.0.1:1234", []string{"198.51.100.1:4711"}, nil, "198.51.100.1"},
		{"XFF IPv6", "10.0.0.1:1234", []string{"2001:db8:1:2::99"}, nil, "2001:db8:1:2::99"},
		{"XFF bracketed IPv6 with a port", "10.0.0.1:1234", []string{"[2001:db8:1:2::99]:443"}, nil, "2001:db8:1:2::99"},
		{"XFF IPv4-mapped", "10.0.0.1:1234", []string{"::ffff:198.51.100.1"}, nil, "198.51.100.1"},
		{"XFF garbage in the trusted part: the peer", "10.0.0.1:1234", []string{"198.51.100.1, unknown"}, nil, "10.0.0.1"},
		{"XFF garbage left of the client is never read", "10.0.0.1:1234", []string{"<script>, 198.51.100.1"}, nil, "198.51.100.1"},
		{"XFF empty", "10.0.0.1:1234", []string{""}, nil, "10.0.0.1"},
		{"XFF a name", "10.0.0.1:1234", []string{"evil.example"}, nil, "10.0.0.1"},
		{"XFF bad IPv6", "10.0.0.1:1234", []string{"[2001:db8::1"}, nil, "10.0.0.1"},
		{"XFF IPv4 in brackets", "10.0.0.1:1234", []string{"[198.51.100.1]"}, nil, "10.0.0.1"},
		{"Forwarded", "10.0.0.1:1234", nil, []string{"for=198.51.100.1;proto=https;by=10.0.0.1"}, "198.51.100.1"},
		{"Forwarded quoted IPv6 with port", "10.0.0.1:1234", nil, []string{`for="[2001:db8:1:2::99]:4711"`}, "2001:db8:1:2::99"},
		{"Forwarded quoted IPv4 with port", "10.0.0.1:1234", nil, []string{`For="198.51.100.1:4711"`}, "198.51.100.1"},
		{"Forwarded several elements", "10.0.0.1:1234", nil, []string{`for=1.1.1.1, for=198.51.100.1;proto=http, for="[2001:db8:ffff::1]"`}, "198.51.100.1"},
		{"Forwarded several lines", "10.0.0.1:1234", nil, []string{`for=1.1.1.1`, `for=198.51.100.1`}, "198.51.100.1"},
		{"Forwarded comma inside quotes", "10.0.0.1:1234", nil, []string{`for=198.51.100.1;x="a, for=1.1.1.1"`}, "198.51.100.1"},
		{"Forwarded unknown: the peer", "10.0.0.1:1234", nil, []string{"for=unknown"}, "10.0.0.1"},
		{"Forwarded obfuscated: the peer", "10.0.0.1:1234", nil, []string{"for=_hidden"}, "10.0.0.1"},
		{"Forwarded without for: the peer", "10.0.0.1:1234", nil, []string{"proto=https"}, "10.0.0.1"},
		{"Forwarded unterminated quote: the peer", "10.0.0.1:1234", nil, []string{`for="198.51.100.1`}, "10.0.0.1"},
		{"Forwarded duplicate for: the peer", "10.0.0.1:1234", nil, []string{`for=1.1.1.1;for=198.51.100.1`}, "10.0.0.1"},
		{"Forwarded broken client line left of the proxy's", "10.0.0.1:1234", nil, []string{`for="oops`, `for=198.51.100.1`}, "198.51.100.1"},
		{"Forwarded unquoted IPv6 accepted", "10.0.0.1:1234", nil, []string{`for=[2001:db8::7]`}, "2001:db8::7"},
		{"Forwarded bad port: the peer", "10.0.0.1:1234", nil, []string{`for="[2001:db8::7]:99999999"`}, "10.0.0.1"},
		// X-Forwarded-For wins when both are sent.
		{"both headers", "10.0.0.1:1234", []string{"198.51.100.1"}, []string{"for=1.1.1.1"}, "198.51.100.1"},
		{"trusted IPv6 proxy", "[2001:db8:ffff::1]:8080", []string{"2001:db8:1:2::99"}, nil, "2001:db8:1:2::99"},
		{"IPv4-mapped peer matches the IPv4 prefix", "[::ffff:10.0.0.1]:8080", []string{"198.51.100.1"}, nil, "198.51.100.1"},
		{"mapped trusted CIDR", "192.168.3.4:80", []string{"198.51.100.1"}, nil, "198.51.100.1"},
		{"zone on the peer", "[fe80::1%eth0]:80", nil, nil, "fe80::1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.xff {
				h.Add("X-Forwarded-For", v)
			}
			for _, v := range tc.fwd {
				h.Add("Forwarded", v)
			}
			got, ok := r.Client(tc.peer, h)
			if !ok || got.String() != tc.client {
				t.Fatalf("Client(%q, %v) = %v, %v; want %s", tc.peer, h, got, ok, tc.client)
			}
		})
	}
}

func TestNoProxiesTrusted(t *testing.T) {
	for _, r := range []*Resolver{nil, {}, mustNew(t, nil, 64)} {
		h := http.Header{"X-Forwarded-For": {"198.51.100.1"}, "Forwarded": {"for=198.51.100.2"}}
		if k := r.Key("127.0.0.1:4000", h); k != "127.0.0.1" {
			t.Fatalf("key %q: headers believed without a trusted proxy", k)
		}
	}
}

func TestKey(t *testing.T) {
	r := mustNew(t, []string{"127.0.0.0/8"}, 0)
	key := func(xff string) string { return r.Key("127.0.0.1:1", http.Header{"X-Forwarded-For": {xff}}) }
	// One /64 is one client, whatever its interface id.
	if a, b := key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"); a != b || a != "2001:db8:1:2::/64" {
		t.Fatalf("one /64, two keys: %q %q", a, b)
	}
	if a, b := key("2001:db8:1:2::1"), key("2001:db8:1:3::1"); a == b {
		t.Fatalf("two /64s, one key %q", a)
	}
	// IPv4 in full, mapped IPv4 as IPv4.
	if a, b := key("198.51.100.1"), key("::ffff:198.51.100.1"); a != b || a != "198.51.100.1" {
		t.Fatalf("mapped IPv4: %q %q", a, b)
	}
	if key("198.51.100.1") == key("198.51.100.2") {
		t.Fatal("IPv4 addresses share a key")
	}
	// The prefix length is configurable.
	r48 := mustNew(t, nil, 48)
	if a, b := r48.Key("[2001:db8:1:2::1]:1", nil), r48.Key("[2001:db8:1:7::1]:1", nil); a != b || a != "2001:db8:1::/48" {
		t.Fatalf("/48: %q %q", a, b)
	}
	r128 := mustNew(t, nil, 128)
	if r128.Key("[2001:db8::1]:1", nil) == r128.Key("[2001:db8::2]:1", nil) {
		t.Fatal("/128 keys whole addresses")
	}
	if k := r.Key("@", nil); k != "peer:@" {
		t.Fatalf("unreadable peer: %q", k)
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		cidrs []string
		bits  int
		want  string
	}{
		{[]string{"10.0.0.0/8", "10.0.0.300/32"}, 64, "[1]: \"10.0.0.300/32\" is not a CIDR"},
		{[]string{"10.0.0.1"}, 64, "is not a CIDR"},
		{[]string{"10.1.0.0/8"}, 64, "did you mean 10.0.0.0/8"},
		{[]string{"0.0.0.0/0"}, 64, "trusts every address"},
		{[]string{"::/0"}, 64, "trusts every address"},
		{[]string{"::ffff:0.0.0.0/96"}, 64, "trusts every address"},
		{nil, 129, "out of range"},
		{nil, -1, "out of range"},
	} {
		_, err := New(tc.cidrs, tc.bits)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%v, %d) = %v; want %q", tc.cidrs, tc.bits, err, tc.want)
		}
	}
	p, err := ParseCIDR(" ::ffff:10.0.0.0/104 ")
	if err != nil || p != netip.MustParsePrefix("10.0.0.0/8") {
		t.Fatalf("mapped prefix: %v %v", p, err)
	}
}

func TestSplitForwardedNeverPanics(t *testing.T) {
	for _, s := range []string{"", ",", ";", "=", `for="`, `for="\`, `for=a;;b=c,,`, "for=\"a\x00\"", `for=a b`, `"x"=y`} {
		splitForwarded(s)
		forwardedHops(http.Header{"Forwarded": {s}})
	}
}

func FuzzClient(f *testing.F) {
	r, _ := New([]string{"10.0.0.0/8"}, 64)
	f.Add("for=198.51.100.1", "198.51.100.1, 10.0.0.2")
	f.Add(`for="[2001:db8::1]:80";proto=https`, "")
	f.Fuzz(func(t *testing.T, fwd, xff string) {
		h := http.Header{"Forwarded": {fwd}}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		if a, ok := r.Client("10.0.0.1:1", h); !ok || !a.IsValid() {
			t.Fatalf("no client for %q %q", fwd, xff)
		}
	})
}
