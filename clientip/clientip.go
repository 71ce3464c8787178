// Package clientip finds the address of the client behind a request and turns it into the key of a
// per-client limit. Forwarding headers (X-Forwarded-For, RFC 7239 Forwarded) are believed only when the
// direct peer is a trusted proxy, and then only as far as the chain of trusted proxies reaches: the
// rightmost hop that is not a trusted proxy is the client, since everything left of it was written by
// the client itself. IPv6 clients are keyed by their network prefix (a /64 by default), because one
// subscriber usually holds a whole /64 and could otherwise use a new key for every request.
//
// It imports nothing of signupflow.
package clientip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// DefaultIPv6PrefixLength is the prefix an IPv6 client is keyed by unless told otherwise.
const DefaultIPv6PrefixLength = 64

// Resolver knows the trusted proxies and the IPv6 prefix length. The zero value trusts no proxy and
// keys IPv6 clients by their /64.
type Resolver struct {
	trusted []netip.Prefix
	v6Bits  int
}

// New parses the trusted proxies (CIDRs such as "10.0.0.0/8" or "2001:db8::/32") and checks the IPv6
// prefix length (1..128; 0 means DefaultIPv6PrefixLength). The error names the first bad entry.
func New(trustedCIDRs []string, ipv6PrefixLength int) (*Resolver, error) {
	if ipv6PrefixLength == 0 {
		ipv6PrefixLength = DefaultIPv6PrefixLength
	}
	if ipv6PrefixLength < 1 || ipv6PrefixLength > 128 {
		return nil, fmt.Errorf("IPv6 prefix length %d is out of range (1 to 128)", ipv6PrefixLength)
	}
	r := &Resolver{v6Bits: ipv6PrefixLength}
	for i, raw := range trustedCIDRs {
		p, err := ParseCIDR(raw)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		r.trusted = append(r.trusted, p)
	}
	return r, nil
}

// ParseCIDR parses one trusted-proxy CIDR. It refuses host bits (a likely typo: "10.1.0.0/8"), a
// prefix of length 0 (trusting every address lets any client choose its own) and zones. An
// IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) is turned into its IPv4 prefix.
func ParseCIDR(raw string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(raw))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32", raw)
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; did you mean %s?", raw, p.Masked())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, fmt.Errorf("%q trusts every address, so any client could choose its own", raw)
	}
	return p, nil
}

// Trusted says whether addr is one of the trusted proxies.
func (r *Resolver) Trusted(addr netip.Addr) bool {
	if r == nil {
		return false
	}
	addr = normalize(addr)
	for _, p := range r.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Client is the client's address: the peer (remoteAddr, "ip:port" as net/http sets it) unless the peer
// is a trusted proxy, in which case the forwarding headers are walked from the right, skipping trusted
// hops; the first untrusted hop is the client, and when every hop is trusted, the leftmost one.
// X-Forwarded-For is used when present, RFC 7239 Forwarded otherwise. A hop that cannot be read
// ("unknown", an obfuscated name, garbage) ends the walk: the answer is then the peer. ok is false only
// when the peer itself is not an address.
func (r *Resolver) Client(remoteAddr string, h http.Header) (addr netip.Addr, ok bool) {
	peer, ok := parsePeer(remoteAddr)
	if !ok || !r.Trusted(peer) {
		return peer, ok
	}
	hops, found := forwardedHops(h)
	if !found {
		return peer, true
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		if !hops[i].IsValid() {
			return peer, true // garbage in the trusted part of the chain
		}
		client = hops[i]
		if !r.Trusted(client) {
			return client, true
		}
	}
	return client, true
}

// Key is the key of the client in per-client limits: Key(Client(...)).
func (r *Resolver) Key(remoteAddr string, h http.Header) string {
	addr, ok := r.Client(remoteAddr, h)
	if !ok {
		// Not an address (a unix socket, a test): the raw value, so that such peers share one key.
		return "peer:" + remoteAddr
	}
	bits := DefaultIPv6PrefixLength
	if r != nil && r.v6Bits > 0 {
		bits = r.v6Bits
	}
	return Key(addr, bits)
}

// Key is the limit key of an address: an IPv4 address (or an IPv4-mapped IPv6 one) in full, an IPv6
// address as its network of ipv6PrefixLength bits ("2001:db8:1:2::/64").
func Key(addr netip.Addr, ipv6PrefixLength int) string {
	addr = normalize(addr)
	if addr.Is4() {
		return addr.String()
	}
	p, err := addr.Prefix(ipv6PrefixLength)
	if err != nil {
		return addr.String()
	}
	return p.String()
}

// normalize drops the zone and unmaps ::ffff:a.b.c.d.
func normalize(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}

// parsePeer reads net/http's RemoteAddr: "ip:port", "[ipv6]:port", or a bare address.
func parsePeer(remoteAddr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return normalize(ap.Addr()), true
	}
	if a, err := netip.ParseAddr(strings.Trim(remoteAddr, "[]")); err == nil {
		return normalize(a), true
	}
	return netip.Addr{}, false
}

// forwardedHops are the hops of X-Forwarded-For (when present) or Forwarded, left to right, an
// invalid Addr for each hop that cannot be read. found is false when neither header is present.
func forwardedHops(h http.Header) (hops []netip.Addr, found bool) {
	if lines := h.Values("X-Forwarded-For"); len(lines) > 0 {
		for _, line := range lines {
			for _, part := range strings.Split(line, ",") {
				hops = append(hops, parseNode(strings.TrimSpace(part)))
			}
		}
		return hops, true
	}
	lines := h.Values("Forwarded")
	if len(lines) == 0 {
		return nil, false
	}
	for _, line := range lines {
		elems, ok := splitForwarded(line)
		if !ok {
			// A line that does not parse is one unreadable hop: where the walk reaches it, it stops.
			hops = append(hops, netip.Addr{})
			continue
		}
		for _, e := range elems {
			hops = append(hops, parseNode(e["for"]))
		}
	}
	return hops, true
}

// parseNode reads one hop: "192.0.2.1", "192.0.2.1:8080", "2001:db8::1", "[2001:db8::1]" or
// "[2001:db8::1]:8080". Anything else (unknown, _obfuscated, names) is the invalid Addr.
func parseNode(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}
		}
		if rest := s[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() {
			return netip.Addr{}
		}
		return normalize(a)
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return normalize(a)
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Is4() {
		return normalize(ap.Addr())
	}
	return netip.Addr{}
}

// validPort is 1-5 digits, or an RFC 7239 obfuscated port ("_abc").
func validPort(p string) bool {
	if p == "" || len(p) > 16 {
		return false
	}
	if p[0] == '_' {
		for _, c := range p[1:] {
			if !isObfChar(c) {
				return false
			}
		}
		return len(p) > 1
	}
	if len(p) > 5 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isObfChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}
