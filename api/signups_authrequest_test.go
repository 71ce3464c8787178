package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/signup"
)

// A start with an authRequestId is checked before anything is started: the request must be pending
// and belong to the start's application. These answers come before any workflow call (the service
// here has no Temporal client: reaching it would panic).

type fakeRequests map[string]*loginreq.Request

func (f fakeRequests) Get(_ context.Context, id string) (*loginreq.Request, error) {
	if r, ok := f[id]; ok {
		return r, nil
	}
	return nil, loginreq.ErrUnknown
}

func (f fakeRequests) Complete(context.Context, string, string, []string, time.Time) (string, error) {
	panic("not called by a start")
}

func (f fakeRequests) CompleteFederated(context.Context, string, string, string, time.Time) (string, error) {
	panic("not called by a start")
}

func (f fakeRequests) Deny(context.Context, string, string) (string, error) {
	panic("not called by a start")
}

func newStartAPI(t *testing.T, login loginreq.Store) http.Handler {
	t.Helper()
	cfg, err := flow.Parse([]byte(`
server: {publicURL: "http://localhost:8080"}
applications:
  - {clientId: app, name: "Acme Portal", userFlow: f, type: public, redirectUris: ["https://app.example/callback"]}
  - {clientId: other, name: "Other", userFlow: f, type: public, redirectUris: ["https://other.example/callback"]}
userFlows:
  - {id: f, attributes: [{name: displayName}]}
`), func(string) string { return "" })
	require.NoError(t, err)
	rs := testredis.Start(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := signup.New(signup.Deps{Config: cfg, Redis: rs.Client, Secret: []byte("0123456789abcdef0123456789abcdef"),
		Logger: logger, Login: login})
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	AddRoutes(r, Deps{Service: svc, Logger: logger})
	return r
}

func postStart(t *testing.T, h http.Handler, body string) (int, signup.Error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/signups", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"), w.Body.String())
	var p signup.Error
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	return w.Code, p
}

func TestStartRefusesABadAuthRequestID(t *testing.T) {
	now := time.Now()
	login := fakeRequests{
		"ar-app":     {ID: "ar-app", ClientID: "app", RedirectURI: "https://app.example/callback", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		"ar-other":   {ID: "ar-other", ClientID: "other", RedirectURI: "https://other.example/callback", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		"ar-expired": {ID: "ar-expired", ClientID: "app", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
	}
	h := newStartAPI(t, login)
	for _, tc := range []struct {
		name, id, field string
	}{
		{"unknown id", "no-such-request", signup.FieldAuthRequestUnknown},
		{"expired request", "ar-expired", signup.FieldAuthRequestUnknown},
		{"blank id", "  ", signup.FieldAuthRequestUnknown},
		{"oversized id", strings.Repeat("a", signup.MaxAuthRequestID+1), signup.FieldAuthRequestUnknown},
		{"another application's request", "ar-other", signup.FieldAuthRequestWrongClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, p := postStart(t, h, `{"clientId":"app","email":"ann@fabrikam.com","authRequestId":"`+tc.id+`"}`)
			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, CodeInvalidRequest, p.Code)
			require.Len(t, p.Fields, 1)
			require.Equal(t, "authRequestId", p.Fields[0].Field)
			require.Equal(t, tc.field, p.Fields[0].Code)
		})
	}

	// The other fields are checked first, as before.
	status, p := postStart(t, h, `{"clientId":"nobody","email":"ann@fabrikam.com","authRequestId":"ar-app"}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, CodeUnknownClient, p.Code)
	status, p = postStart(t, h, `{"clientId":"app","email":"not-an-address","authRequestId":"ar-app"}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, CodeInvalidEmail, p.Code)
}

func TestStartWithAuthRequestIDWithoutProvider(t *testing.T) {
	h := newStartAPI(t, nil)
	status, p := postStart(t, h, `{"clientId":"app","email":"ann@fabrikam.com","authRequestId":"ar-app"}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, CodeInvalidRequest, p.Code)
	require.Equal(t, "authRequestId", p.Fields[0].Field)
}
