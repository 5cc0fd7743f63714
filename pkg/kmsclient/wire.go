package kmsclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	contentType  = "application/x-amz-json-1.1"
	targetPrefix = "TrentService."
	userAgent    = "keyward-kmsclient"
	// maxResponse bounds what is read of a response; KMS's answers to
	// Decrypt and GenerateDataKey are a few KiB at most.
	maxResponse = 1 << 20
)

// call sends op with body in, retrying as the retryer says, decodes the
// answer into out, and wraps any error as the SDK does.
func (c *Client) call(ctx context.Context, op string, in, out any) error {
	if err := c.send(ctx, op, in, out); err != nil {
		return &smithy.OperationError{ServiceID: ServiceID, OperationName: op, Err: err}
	}
	return nil
}

// send is the SDK's retry loop around attempt: an attempt token per try, a
// retry token (the retry quota) and the retryer's delay before each retry.
func (c *Client) send(ctx context.Context, op string, in, out any) error {
	if c.endErr != nil {
		return c.endErr
	}
	if c.opts.Credentials == nil {
		return errors.New("kmsclient: no credentials configured")
	}
	if c.opts.Region == "" {
		return errors.New("kmsclient: no region configured")
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("kmsclient: encode %s request: %w", op, err)
	}
	r := c.opts.Retryer
	releaseRetry := nopRelease
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return &smithy.CanceledError{Err: err}
		}
		releaseAttempt, err := attemptToken(ctx, r)
		if err != nil {
			return fmt.Errorf("failed to get retry Send token, %w", err)
		}
		err = c.attempt(ctx, op, body, out)
		_ = releaseRetry(err)
		_ = releaseAttempt(err)
		if err == nil || !r.IsErrorRetryable(err) {
			return err
		}
		if maxAttempts := r.MaxAttempts(); maxAttempts > 0 && attempt >= maxAttempts {
			return &retry.MaxAttemptsError{Attempt: attempt, Err: err}
		}
		var tokenErr error
		if releaseRetry, tokenErr = r.GetRetryToken(ctx, err); tokenErr != nil {
			return errors.Join(err, tokenErr)
		}
		delay, err := r.RetryDelay(attempt, err)
		if err != nil {
			return err
		}
		if err := sleep(ctx, delay); err != nil {
			return &aws.RequestCanceledError{Err: err}
		}
	}
}

func nopRelease(error) error { return nil }

// attemptToken is the retryer's per-attempt token (the standard retryer's
// is free); a retryer without one needs none.
func attemptToken(ctx context.Context, r aws.Retryer) (func(error) error, error) {
	if v2, ok := r.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return nopRelease, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt signs and sends one request and decodes its answer. Transport
// failures are *smithyhttp.RequestSendError (the retryer retries them), KMS's
// error answers *awshttp.ResponseError holding a *smithy.GenericAPIError.
func (c *Client) attempt(ctx context.Context, op string, body []byte, out any) error {
	creds, err := c.opts.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("failed to retrieve credentials, %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("kmsclient: build request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	req.Header.Set("User-Agent", userAgent)
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingName, c.opts.Region, c.now().UTC()); err != nil {
		return fmt.Errorf("failed to sign request, %w", err)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return &smithy.CanceledError{Err: ctx.Err()}
		}
		return &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return responseError(resp, &smithy.DeserializationError{Err: fmt.Errorf("failed to read response body, %w", err)})
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return responseError(resp, apiError(resp, data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		// Not err: its text may quote the body, which holds a plaintext.
		return responseError(resp, &smithy.DeserializationError{Err: fmt.Errorf("response body is not a %s response", op)})
	}
	return nil
}

// responseError wraps err with the response's status and request ID, as the
// SDK does: the retryer reads the status (5xx is retried).
func responseError(resp *http.Response, err error) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: err},
		RequestID:     resp.Header.Get("X-Amzn-Requestid"),
	}
}

// apiError decodes a KMS error answer: the code from the X-Amzn-ErrorType
// header, else the body's "code" or "__type" (namespace and suffix after
// '#' and ':' dropped), the message from the body's "message"/"Message".
// An empty answer is UnknownError; one that is not JSON (a proxy's HTML
// page) a *smithy.DeserializationError, as from the SDK.
func apiError(resp *http.Response, body []byte) error {
	var info struct {
		Code    string `json:"code"`
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	// encoding/json matches names case-insensitively: Code, Message too.
	if len(bytes.TrimSpace(body)) > 0 && json.Unmarshal(body, &info) != nil {
		return &smithy.DeserializationError{Err: errors.New("failed to decode response body: not a KMS error")}
	}
	code := resp.Header.Get("X-Amzn-ErrorType")
	for _, c := range []string{info.Code, info.Type, "UnknownError"} {
		if code == "" {
			code = c
		}
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	msg := info.Message
	if msg == "" {
		msg = code
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}
}
