package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// An applicant of the crash phase: start, verify, submit, each step sent again while it is refused
// in a way that may pass, with the same Idempotency-Key (a start mints a new session each time, so it
// has none: the last session's token is the one used).

// retryPause is the pause before a refused step is sent again.
const retryPause = 100 * time.Millisecond

// problemCode is the "code" of a problem answer, or "".
func problemCode(body string) string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal([]byte(body), &p)
	return p.Code
}

// classify names an answer and says whether it is a refusal that may pass.
func classify(code int, body string, err error) (string, bool) {
	if err != nil {
		return "transport", true
	}
	pc := problemCode(body)
	name := fmt.Sprintf("%d %s", code, pc)
	if pc == "" {
		name = fmt.Sprint(code)
	}
	return name, code >= 500 || code == http.StatusTooManyRequests || (code == http.StatusConflict && pc == "busy")
}

// errAnswer is an answer send does not retry; the caller decides.
type errAnswer struct {
	code int
	body string
}

func (e *errAnswer) Error() string { return fmt.Sprintf("HTTP %d %s", e.code, clip(e.body)) }

// send repeats one request of step until ok accepts its answer, ctx ends, or the answer is neither
// success nor a refusal that may pass (then an *errAnswer).
func (c *crashPhase) send(ctx context.Context, a *crashApplicant, step int, req func(context.Context) (int, string, error), ok func(int) bool) error {
	for {
		start := time.Now()
		code, body, err := req(ctx)
		at := attempt{start: start, end: time.Now()}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: gave up at the phase's deadline (last answer %s)", stepNames[step], describe(code, body, err))
		}
		at.answer, at.refused = classify(code, body, err)
		at.ok = err == nil && ok(code)
		a.steps[step] = append(a.steps[step], at)
		switch {
		case at.ok:
			c.answered.Add(1)
			return nil
		case !at.refused:
			return &errAnswer{code, body}
		}
		pause := retryPause
		if code == http.StatusTooManyRequests {
			pause = time.Second
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: gave up at the phase's deadline (last answer %s)", stepNames[step], describe(code, body, err))
		case <-time.After(pause):
		}
	}
}

func describe(code int, body string, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("HTTP %d %s", code, clip(body))
}

// run drives one sign-up to Completed; a.reason says where it stopped otherwise.
func (c *crashPhase) run(ctx context.Context, a *crashApplicant) {
	if err := c.drive(ctx, a); err != nil {
		a.reason = err.Error()
		return
	}
	a.done = true
}

func (c *crashPhase) drive(ctx context.Context, a *crashApplicant) error {
	var st stepAnswer
	if err := c.send(ctx, a, 0, func(ctx context.Context) (int, string, error) {
		st = stepAnswer{}
		return c.s.api.do(ctx, http.MethodPost, "/v1/signups", "", map[string]any{"clientId": benchClient, "email": a.email, "uiLocales": "en"}, &st)
	}, func(code int) bool { return code == http.StatusCreated && st.SessionToken != "" }); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	a.id, a.token = st.ID, st.SessionToken
	if err := c.verify(ctx, a); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if err := c.submit(ctx, a); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	return nil
}

func (c *crashPhase) path(a *crashApplicant) string { return "/v1/signups/" + url.PathEscape(a.id) }

// verify types the e-mailed code. A code that is no longer good (a retried start, or the activity
// cut off by the crash and run again, mailed another) is replaced by the next one, or a new one.
func (c *crashPhase) verify(ctx context.Context, a *crashApplicant) error {
	// The code may come late: a mail activity cut off by the crash is run again after its timeout.
	otp, err := c.s.mail.WaitCode(ctx, a.email)
	if err != nil {
		return err
	}
	key := "crash-verify-" + randomHex(8)
	for {
		var st stepAnswer
		err := c.send(ctx, a, 1, func(ctx context.Context) (int, string, error) {
			st = stepAnswer{}
			return c.s.api.doKey(ctx, http.MethodPost, c.path(a)+"/email-verification", a.token, key, map[string]any{"code": otp}, &st)
		}, func(code int) bool { return code == http.StatusOK && st.Status == "CollectingAttributes" })
		var ans *errAnswer
		if !errors.As(err, &ans) {
			return err
		}
		switch pc := problemCode(ans.body); pc {
		case "wrong_code", "code_dead", "code_expired":
			c.note("verify: " + pc + ", another code typed")
			if otp, err = c.anotherCode(ctx, a); err != nil {
				return err
			}
		case "wrong_state":
			if err := c.pastStep(ctx, a, "verify", "CollectingAttributes", "Completed"); err != nil {
				return fmt.Errorf("%w (after %v)", err, ans)
			}
			return nil
		default:
			return ans
		}
	}
}

// anotherCode is the next code already mailed, or else one asked for (resend-code).
func (c *crashPhase) anotherCode(ctx context.Context, a *crashApplicant) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	otp, err := c.s.mail.WaitCode(wctx, a.email)
	cancel()
	if err == nil {
		return otp, nil
	}
	if err := c.send(ctx, a, 1, func(ctx context.Context) (int, string, error) {
		return c.s.api.do(ctx, http.MethodPost, c.path(a)+"/email-code", a.token, map[string]any{}, nil)
	}, func(code int) bool { return code == http.StatusOK }); err != nil {
		return "", fmt.Errorf("resend-code: %w", err)
	}
	wctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return c.s.mail.WaitCode(wctx, a.email)
}

// submit sends the form until the sign-up is Completed.
func (c *crashPhase) submit(ctx context.Context, a *crashApplicant) error {
	form := map[string]any{"attributes": map[string]any{
		"displayName": "Bench Applicant", "CompanyName": "Bench Company Ltd", "AcceptsTerms": true,
	}}
	key := "crash-submit-" + randomHex(8)
	var st stepAnswer
	err := c.send(ctx, a, 2, func(ctx context.Context) (int, string, error) {
		st = stepAnswer{}
		return c.s.api.doKey(ctx, http.MethodPost, c.path(a)+"/attributes", a.token, key, form, &st)
	}, func(code int) bool {
		return (code == http.StatusOK && st.Status == "Completed") || code == http.StatusAccepted
	})
	var ans *errAnswer
	switch {
	case err == nil && st.Status == "Completed":
		return nil
	case err == nil: // 202 Checking: the sign-up goes on by itself
		c.note("submit: 202 " + st.Status)
		return c.pastStep(ctx, a, "submit", "Completed")
	case errors.As(err, &ans) && problemCode(ans.body) == "wrong_state":
		if err := c.pastStep(ctx, a, "submit", "Completed"); err != nil {
			return fmt.Errorf("%w (after %v)", err, ans)
		}
		return nil
	}
	return err
}

// pastStep waits (GET /v1/signups/{id}) until the sign-up is in one of the states: what a client does
// when a step it sent again answers wrong_state.
func (c *crashPhase) pastStep(ctx context.Context, a *crashApplicant, step string, want ...string) error {
	c.note(step + ": wrong_state or 202, status read")
	for {
		var view struct {
			Status string `json:"status"`
		}
		code, raw, err := c.s.api.do(ctx, http.MethodGet, c.path(a), a.token, nil, &view)
		if err == nil && code == http.StatusOK {
			for _, w := range want {
				if view.Status == w {
					return nil
				}
			}
			if view.Status != "Checking" && view.Status != "Provisioning" {
				return fmt.Errorf("%s: the sign-up is %s", step, view.Status)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not %v by the phase's deadline (last answer %s)", step, want, describe(code, raw, err))
		case <-time.After(retryPause):
		}
	}
}
