package federation

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/flow"
)

// consumersTenant is the tenant of every personal Microsoft account.
const consumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

var tidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// newMicrosoft builds the microsoft type: Entra ID's v2.0 endpoint of the configured tenant. The
// discovery document of common, organizations and consumers names the issuer as a template
// (https://login.microsoftonline.com/{tenantid}/v2.0), so the library's issuer checks are off and
// checkMicrosoftIssuer checks every token's iss against its own tid and the tenant setting instead.
//
// Entra asserts no email_verified: an address counts as verified only when the token carries the
// optional claim xms_edov (the e-mail domain's owner is verified) set to true.
func newMicrosoft(s *spec) (Provider, error) {
	base := strings.TrimRight(s.opts.MicrosoftBaseURL, "/")
	tenant := s.idp.Tenant
	if tenant == "" {
		tenant = flow.TenantCommon
	}
	p := s.openID(base+"/"+tenant+"/v2.0", oauth2.AuthStyleInParams, &openID{
		issuerName:    func(iss string) string { return iss },
		emailVerified: func(c claims) bool { return c.isTrue("xms_edov") },
		checkIssuer: func(iss string, c claims) error {
			return checkMicrosoftIssuer(base, tenant, iss, c.str("tid"))
		},
	})
	p.disc.anyIssuer = true
	return p, nil
}

// checkMicrosoftIssuer: iss is base/<tid>/v2.0 for the token's own tid, and tid is one the tenant
// setting accepts: any (common), any but personal accounts (organizations), personal accounts only
// (consumers), or exactly the configured tenant id.
func checkMicrosoftIssuer(base, tenant, iss, tid string) error {
	if !tidPattern.MatchString(tid) {
		return errors.New("the ID token has no tenant id (tid)")
	}
	if iss != base+"/"+tid+"/v2.0" {
		return fmt.Errorf("the ID token's iss %q is not the issuer of its tenant %s", short(iss), tid)
	}
	personal := strings.EqualFold(tid, consumersTenant)
	switch {
	case tenant == flow.TenantCommon:
	case tenant == flow.TenantOrganizations && personal:
		return errors.New("a personal Microsoft account, but the tenant setting is organizations")
	case tenant == flow.TenantConsumers && !personal:
		return errors.New("a work or school account, but the tenant setting is consumers")
	case tenant != flow.TenantOrganizations && tenant != flow.TenantConsumers && !strings.EqualFold(tid, tenant):
		return fmt.Errorf("the ID token is from tenant %s, not the configured one", tid)
	}
	return nil
}
