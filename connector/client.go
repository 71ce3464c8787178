package connector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/signupflow/signupflow/flow"
)

// Client calls HTTP connectors. Secrets are resolved at call time through
// getenv, so they never enter workflow history. It caches one *http.Client
// (with its TLS config) and one OAuth2 token source per endpoint, rebuilt
// when the endpoint's config changes. It is safe for concurrent use.
type Client struct {
	// Tracer, when set, makes a client span of each call; the W3C traceparent of the caller's trace is
	// sent to the connector either way.
	Tracer  trace.Tracer
	getenv  func(string) string
	clients clientCache
	tokens  tokenCache
}

// NewClient returns a Client that reads secrets with getenv; nil means
// os.Getenv. Tests pass a map lookup instead of mutating the environment.
func NewClient(getenv func(string) string) *Client {
	if getenv == nil {
		getenv = os.Getenv
	}
	return &Client{getenv: getenv}
}

// Call makes Client the Caller of HTTP connectors (flow.KindHTTP): it is Post to to.Endpoint.
func (c *Client) Call(ctx context.Context, to flow.Target, req *Request, signupID string) (*Response, error) {
	return c.Post(ctx, to.Endpoint, req, signupID)
}

// Post POSTs req.Body() to ep.URL with the endpoint's authentication and
// X-Signup-Id: signupID (when non-empty), under ep's per-attempt timeout, and
// returns ParseResponse's result or an *Error. Redirects are not followed: a
// 3xx is KindStatus. Post makes exactly one attempt; retrying is the
// caller's policy (see Error.Retryable).
func (c *Client) Post(ctx context.Context, ep flow.Endpoint, req *Request, signupID string) (resp *Response, rerr error) {
	if c.Tracer != nil {
		var span trace.Span
		ctx, span = c.Tracer.Start(ctx, "connector "+ep.ID, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("signupflow.connector", ep.ID), attribute.String("signupflow.step", string(req.Step))))
		defer span.End()
		defer func() {
			if rerr != nil {
				span.SetStatus(codes.Error, string(kindOf(rerr)))
			} else if resp != nil {
				span.SetAttributes(attribute.String("signupflow.action", string(resp.Action)))
			}
		}()
	}
	creds, err := c.prepare(ep)
	if err != nil {
		return nil, err
	}
	resp, err = c.call(ctx, ep, req, signupID, creds)
	if err != nil {
		return nil, redact(err, creds.secrets)
	}
	return resp, nil
}

func kindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return "error"
}

// prepare validates what a workflow input could have got wrong and resolves
// the secrets; every failure here is KindConfig.
func (c *Client) prepare(ep flow.Endpoint) (*credentials, *Error) {
	if err := flow.ValidateURL(ep.URL); err != nil {
		return nil, configError(nil, "url %v", err)
	}
	if err := ep.Auth.Validate(); err != nil {
		return nil, configError(err, "invalid auth")
	}
	return resolve(ep.Auth, c.getenv)
}

func (c *Client) call(ctx context.Context, ep flow.Endpoint, req *Request, signupID string, creds *credentials) (*Response, *Error) {
	body, err := req.Body()
	if err != nil {
		return nil, configError(err, "cannot build the request body")
	}
	hc, cerr := c.clients.get(ep)
	if cerr != nil {
		return nil, cerr
	}
	ctx, cancel := context.WithTimeout(ctx, ep.AttemptTimeout())
	defer cancel()
	timedOut := func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }

	if ep.Auth.EffectiveType() == flow.AuthOAuth2 {
		tok, err := c.tokens.source(ep, creds.clientSecret, hc).token(ctx)
		if err != nil {
			return nil, tokenError(err, timedOut())
		}
		creds.header, creds.value = "Authorization", "Bearer "+tok
		creds.secrets = append(creds.secrets, tok)
	}

	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return nil, configError(stripURL(err), "cannot build the request")
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Accept", "application/json")
	httpReq.Header.Set("User-Agent", "signupflow")
	if signupID != "" {
		httpReq.Header.Set("X-Signup-Id", signupID)
	}
	if creds.header != "" {
		httpReq.Header.Set(creds.header, creds.value)
	}
	// W3C trace context of the caller's span (nothing when there is none).
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(httpReq.Header))

	httpResp, err := hc.Do(httpReq)
	if err != nil {
		return nil, transportError(err, timedOut(), "request")
	}
	defer httpResp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(httpResp.Body, MaxResponseBytes+1))
	if err != nil {
		e := transportError(err, timedOut(), "reading the response")
		e.Status = httpResp.StatusCode
		return nil, e
	}
	resp, perr := parse(req.Step, httpResp.StatusCode, data, creds.secrets)
	if perr != nil && perr.Kind == KindStatus {
		perr.RetryAfter = parseRetryAfter(httpResp.Header.Get("Retry-After"), time.Now())
	}
	return resp, perr
}

// parse applies the contract, with two twists for the HTTP path: a body over
// the cap is a contract error unless the status is wrong anyway (the status is
// the more useful diagnosis), and an error's body quote is taken from a copy
// with the secrets removed, so even a truncated echo of a secret is not kept.
func parse(step Step, status int, data []byte, secrets []string) (*Response, *Error) {
	tooLarge := len(data) > MaxResponseBytes
	if tooLarge {
		data = data[:MaxResponseBytes]
		if status == 200 || status == 400 {
			return nil, contractError(status, "response body exceeds %d bytes", MaxResponseBytes)
		}
	}
	resp, err := ParseResponse(step, status, data)
	if err == nil {
		return resp, nil
	}
	clean := data
	for _, s := range secrets {
		if s != "" && bytes.Contains(clean, []byte(s)) {
			clean = bytes.ReplaceAll(clean, []byte(s), []byte("[REDACTED]"))
		}
	}
	if !bytes.Equal(clean, data) {
		if _, cleanErr := ParseResponse(step, status, clean); cleanErr != nil {
			err = cleanErr
		}
	}
	var e *Error
	if !errors.As(err, &e) {
		// ParseResponse only returns *Error; this keeps the promise if it ever changes.
		e = &Error{Kind: KindContract, Status: status, Msg: "unusable response", Err: err}
	}
	return nil, e
}
