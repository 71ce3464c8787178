package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// apiClient calls signupflow's JSON API over keep-alive connections.
type apiClient struct {
	base string
	hc   *http.Client
}

// requestTimeout bounds one API call: signupflow itself gives up on a step after 2 minutes.
const requestTimeout = 150 * time.Second

func newAPIClient(base string, concurrency int) *apiClient {
	tr := &http.Transport{
		MaxIdleConns:        concurrency + 16,
		MaxIdleConnsPerHost: concurrency + 16,
		IdleConnTimeout:     90 * time.Second,
	}
	return &apiClient{base: base, hc: &http.Client{Transport: tr, Timeout: requestTimeout}}
}

// do sends a request (body as JSON when not nil) and decodes a 2xx answer into out. It returns the
// status and the raw body; err is only a transport or decoding failure.
func (a *apiClient) do(ctx context.Context, method, path, token string, body, out any) (int, string, error) {
	return a.doKey(ctx, method, path, token, "", body, out)
}

// doKey is do with an Idempotency-Key header (none when key is empty).
func (a *apiClient) doKey(ctx context.Context, method, path, token, key string, body, out any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, string(raw), fmt.Errorf("%s %s: decode answer %s: %w", method, path, clip(string(raw)), err)
		}
	}
	return resp.StatusCode, string(raw), nil
}

func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

// stepError says which applicant step failed and how.
func stepError(step, email string, status int, body string, err error) error {
	if err != nil {
		return fmt.Errorf("%s for %s: %w", step, email, err)
	}
	return fmt.Errorf("%s for %s: HTTP %d %s", step, email, status, clip(body))
}

type stepAnswer struct {
	ID           string `json:"id"`
	SessionToken string `json:"sessionToken"`
	Status       string `json:"status"`
	UserMessage  string `json:"userMessage"`
	AccountID    string `json:"accountId"`
}

// Steps of a sign-up, in order; the same names are used for the floor's updates.
var stepNames = [3]string{"start", "verify", "submit"}

// applicant runs one sign-up through the API: start, verify the code from the SMTP capture, submit
// the form. lat gets the latency of each HTTP step; the sign-up must end with wantStatus.
func (s *stack) applicant(ctx context.Context, clientID, email, wantStatus string, lat *[3]time.Duration) (string, error) {
	var st stepAnswer
	t := time.Now()
	code, raw, err := s.api.do(ctx, http.MethodPost, "/v1/signups", "",
		map[string]any{"clientId": clientID, "email": email, "uiLocales": "en"}, &st)
	lat[0] = time.Since(t)
	if err != nil || code != http.StatusCreated || st.SessionToken == "" {
		return "", stepError("start (POST /v1/signups)", email, code, raw, err)
	}
	id, token := st.ID, st.SessionToken

	mctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	otp, err := s.mail.WaitCode(mctx, email)
	cancel()
	if err != nil {
		return id, err
	}

	path := "/v1/signups/" + url.PathEscape(id)
	t = time.Now()
	code, raw, err = s.api.do(ctx, http.MethodPost, path+"/email-verification", token, map[string]any{"code": otp}, &st)
	lat[1] = time.Since(t)
	if err != nil || code != http.StatusOK || st.Status != "CollectingAttributes" {
		return id, stepError("verify (POST …/email-verification)", email, code, raw, err)
	}

	form := map[string]any{"attributes": map[string]any{
		"displayName": "Bench Applicant", "CompanyName": "Bench   Company Ltd", "AcceptsTerms": true,
	}}
	t = time.Now()
	code, raw, err = s.api.do(ctx, http.MethodPost, path+"/attributes", token, form, &st)
	lat[2] = time.Since(t)
	if err != nil || code != http.StatusOK || st.Status != wantStatus {
		return id, stepError("submit (POST …/attributes, want "+wantStatus+")", email, code, raw, err)
	}
	return id, nil
}
