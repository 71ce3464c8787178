package api

import (
	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/clientip"
)

// clientKey is the key of the client in every per-client limit (starts, new web sessions, wrong
// reviewer and admin tokens): the peer address, or the client named in X-Forwarded-For / Forwarded
// when the peer is one of server.trustedProxies; an IPv6 client as its /64 (server.ipv6PrefixLength).
// Gin's own header parsing is off (NewRouter trusts no proxy), so c.ClientIP() is never the key.
func (s *server) clientKey(c *gin.Context) string {
	return s.clientResolver().Key(c.Request.RemoteAddr, c.Request.Header)
}

// clientResolver is the resolver of the configured proxies. The config is validated at load; a list
// that does not parse all the same (a config built in code) trusts no proxy rather than a wrong one.
func (s *server) clientResolver() *clientip.Resolver {
	srv := s.Config.Server
	r, err := clientip.New(srv.TrustedProxies, srv.IPv6PrefixLength)
	if err != nil {
		s.log.Error("server.trustedProxies is invalid; trusting no proxy", "error", err)
		r, _ = clientip.New(nil, 0)
	}
	return r
}
