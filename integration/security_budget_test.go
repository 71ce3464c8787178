package integration

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// withSecurity replaces the test config's security block.
func withSecurity(block string) func(string) string {
	return func(y string) string {
		return strings.Replace(y, "security: {codeInterval: 1s, codesPerHour: 1000}", "security: "+block, 1)
	}
}

// An attacker who knows an address guesses codes across many starts (each mails a fresh code, with
// fresh per-code attempts): the address's wrong-code budget bounds the guesses actually checked, and
// past it even the right code is refused with 429 too_many_attempts and nothing else changes.
func TestCodeGuessingIsBoundedPerAddressAcrossStarts(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont),
		withSecurity("{codeFailuresPerHour: 10, codeFailuresPerDay: 20, codeInterval: 1s, codesPerHour: 1000}"))
	email := "victim@fabrikam.com"
	// checked counts the guesses compared with a live code: every wrong_code answer, and the first
	// code_dead of a code (its 5th attempt was compared; later ones are refused unchecked).
	checked, refused, dead := 0, 0, 0
	var id, tok, last string
	for round := 0; round < 10; round++ {
		deadThisRound := false
		if round > 0 {
			time.Sleep(1050 * time.Millisecond) // security.codeInterval
		}
		id, tok = s.start(email)
		last = s.code(email)
		for g := 0; g < 10; g++ {
			guess := fmt.Sprintf("%06d", (round*10+g)*7919%1_000_000)
			if guess == last {
				continue
			}
			r := s.do("POST", "/v1/signups/"+id+"/email-verification", tok, map[string]any{"code": guess})
			switch r.body["code"] {
			case "wrong_code":
				checked++
			case "code_dead":
				dead++
				if !deadThisRound {
					checked++
				}
				deadThisRound = true
			case "too_many_attempts":
				refused++
				require.Equal(t, http.StatusTooManyRequests, r.status)
				ra, err := strconv.Atoi(r.header.Get("Retry-After"))
				require.NoError(t, err, r.raw)
				require.Greater(t, ra, 60, "the hour's budget is spent: minutes, not seconds")
			default:
				t.Fatalf("unexpected answer %d %s", r.status, r.raw)
			}
		}
	}
	require.Equal(t, 10, checked, "at most codeFailuresPerHour wrong codes are ever checked (dead %d, refused %d)", dead, refused)
	require.GreaterOrEqual(t, refused, 80)

	// The right code is refused too, and the sign-up stays where it was.
	r := s.do("POST", "/v1/signups/"+id+"/email-verification", tok, map[string]any{"code": last})
	require.Equal(t, http.StatusTooManyRequests, r.status, r.raw)
	require.Equal(t, "too_many_attempts", r.body["code"])
	require.NotEmpty(t, r.header.Get("Retry-After"))
	require.Equal(t, "EmailVerification", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"])

	// Another address is not affected.
	_, _, ok := s.verified("someone.else@fabrikam.com")
	require.Equal(t, "CollectingAttributes", ok.body["status"])
}

// A stranger who knows the owner's address starts a sign-up for it four times a second while the owner signs
// up: the owner's session keeps working and completes, and the owner's mailbox gets no flood of codes.
func TestStrangerRestartsDoNotLockOutTheOwner(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), withSecurity("{}")) // the defaults: 30s apart, 5 an hour
	email := "owner@fabrikam.com"
	id, tok := s.start(email)
	code := s.code(email)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[int]int{}
	var notSent int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			r := s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": email})
			mu.Lock()
			answers[r.status]++
			if r.body["codeSent"] == false {
				notSent++
			}
			mu.Unlock()
		}
	}()
	// The stranger starts a dozen times before the owner types the code: the owner's session is pushed
	// out of the sign-up's 3, and the owner's right code still lets the owner in.
	time.Sleep(3 * time.Second)
	ver := s.do("POST", "/v1/signups/"+id+"/email-verification", tok, map[string]any{"code": code})
	require.Equal(t, http.StatusOK, ver.status, ver.raw)
	require.Equal(t, "CollectingAttributes", ver.body["status"])
	time.Sleep(2500 * time.Millisecond) // and again while the owner fills in the form
	require.Equal(t, "CollectingAttributes", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"])
	done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	close(stop)
	wg.Wait()
	require.Equal(t, http.StatusOK, done.status, done.raw)
	require.Equal(t, "Completed", done.body["status"])

	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, answers[http.StatusCreated], 10, "the stranger's starts were accepted: %v", answers)
	require.Equal(t, answers[http.StatusCreated], notSent, "inside 30 s no start mails a new code")
	codes := 0
	for _, m := range s.smtp.Messages() {
		if hasTo(m.To, email) && strings.Contains(m.Subject, "code") {
			codes++
		}
	}
	require.Equal(t, 1, codes, "one code mailed to the owner, whatever the stranger did")
	list := s.do("GET", "/v1/accounts?email="+email, adminToken, nil)
	require.Len(t, list.body["items"], 1)
}

// 60 unverified starts from one domain (anyone can make them) do not close the domain: only sign-ups
// that verified their address count against signupsPerDomainPerDay.
func TestUnverifiedStartsDoNotCloseADomain(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), func(y string) string {
		return strings.Replace(y, "signupsPerDomainPerDay: 50", "signupsPerDomainPerDay: 3", 1)
	})
	var firstID, firstTok string
	for i := 0; i < 60; i++ {
		id, tok := s.start(fmt.Sprintf("nobody%02d@tailspin.example", i))
		if i == 0 {
			firstID, firstTok = id, tok
		}
	}
	for i := 0; i < 3; i++ {
		_, _, r := s.verified(fmt.Sprintf("real%d@tailspin.example", i))
		require.Equal(t, "CollectingAttributes", r.body["status"], "verified applicant %d of the domain gets through", i)
	}
	// The domain's verified sign-ups of the day are used up: a start is refused before any code is sent.
	r := s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": "late@tailspin.example"})
	require.Equal(t, http.StatusTooManyRequests, r.status, r.raw)
	require.Equal(t, "rate_limited", r.body["code"])
	require.NotEmpty(t, r.header.Get("Retry-After"))
	// An applicant who started earlier and verifies only now is refused too (the count is taken at
	// verification), and stays at the code step.
	late := s.do("POST", "/v1/signups/"+firstID+"/email-verification", firstTok, map[string]any{"code": s.code("nobody00@tailspin.example")})
	require.Equal(t, http.StatusTooManyRequests, late.status, late.raw)
	require.Equal(t, "rate_limited", late.body["code"])
	require.Equal(t, "EmailVerification", s.do("GET", "/v1/signups/"+firstID, firstTok, nil).body["status"])
	// Other domains are not affected.
	_, _, other := s.verified("ann@contoso.example")
	require.Equal(t, "CollectingAttributes", other.body["status"])
}

func hasTo(to []string, email string) bool {
	for _, r := range to {
		if strings.EqualFold(r, email) {
			return true
		}
	}
	return false
}

// A stranger's wrong guesses spend the stranger's session's attempts, not the owner's: the owner's
// right code still works after them (as long as the address's budget is not spent).
func TestStrangerGuessesDoNotSpendTheOwnersAttempts(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	email := "kim@fabrikam.com"
	id, owner := s.start(email)
	code := s.code(email)
	time.Sleep(1100 * time.Millisecond) // security.codeInterval of the test config
	_, stranger := s.start(email)
	s.code(email) // the stranger's start mailed the owner another code
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1_000_000)
	answers := map[string]int{}
	for i := 0; i < 7; i++ {
		r := s.do("POST", "/v1/signups/"+id+"/email-verification", stranger, map[string]any{"code": wrong})
		answers[r.body["code"].(string)]++
	}
	require.Equal(t, map[string]int{"wrong_code": 4, "code_dead": 3}, answers)
	r := s.do("POST", "/v1/signups/"+id+"/email-verification", owner, map[string]any{"code": code})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "CollectingAttributes", r.body["status"])
}

// One client guessing codes for many addresses (say, invented ones at an auto-approved domain) is
// stopped by its own budget, whatever addresses it tries.
func TestCodeGuessingIsBoundedPerClient(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont),
		withSecurity("{codeInterval: 1s, codesPerHour: 1000, codeFailuresPerClientPerHour: 3}"))
	guess := func(email string) *reply {
		id, tok := s.start(email)
		code := s.code(email)
		wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1_000_000)
		return s.do("POST", "/v1/signups/"+id+"/email-verification", tok, map[string]any{"code": wrong})
	}
	for i := 0; i < 3; i++ {
		r := guess(fmt.Sprintf("invented%d@fabrikam.com", i))
		require.Equal(t, "wrong_code", r.body["code"], r.raw)
	}
	r := guess("invented9@fabrikam.com")
	require.Equal(t, http.StatusTooManyRequests, r.status, r.raw)
	require.Equal(t, "too_many_attempts", r.body["code"])
	require.NotEmpty(t, r.header.Get("Retry-After"))
}
