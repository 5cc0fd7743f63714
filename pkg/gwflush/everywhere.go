package gwflush

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/smithy-go"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/retry"
)

// Registry is what the authorizer recorded: the REST stages it serves and
// the deadlines of Allows near a key's expiry; *dynamostore.Store
// satisfies it.
type Registry interface {
	ListStages(ctx context.Context) ([]apikey.Stage, error)
	DueDeadlines(ctx context.Context, until time.Time) ([]apikey.Deadline, error)
	DeleteDeadline(ctx context.Context, d apikey.Deadline) error
}

// Defaults of Everywhere.
const (
	// DefaultAttempts is how often one stage's flush is tried when API
	// Gateway throttles (TooManyRequestsException), on top of the SDK's
	// own retries.
	DefaultAttempts = 6
	// DefaultPollInterval is how often WatchDeadlines looks for deadlines
	// that have come.
	DefaultPollInterval = time.Second
	maxBackoff          = 5 * time.Second
)

// Everywhere flushes the authorizer cache of every stage the authorizer has
// recorded: keyward's own API and every protected API, REST or HTTP, that
// attaches the authorizer. It is driven by the keys table's stream
// (HandleStream: revocations, rotations without grace, narrowed
// allow-lists, earlier expiry) and by a schedule (WatchDeadlines: natural
// expiry and the end of a grace period), so a failed flush is retried by
// the event source and shows in the function's error metric and alarm.
type Everywhere struct {
	api      API
	httpAPI  HTTPAPI
	registry Registry
	log      *slog.Logger
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	attempts int
	poll     time.Duration
}

// NewEverywhere returns an Everywhere flushing the stages registry lists
// through api (REST APIs) and httpAPI (HTTP APIs), logging to log
// (slog.Default when nil).
func NewEverywhere(api API, httpAPI HTTPAPI, registry Registry, log *slog.Logger) *Everywhere {
	if log == nil {
		log = slog.Default()
	}
	return &Everywhere{api: api, httpAPI: httpAPI, registry: registry, log: log, now: time.Now, sleep: retry.Sleep, attempts: DefaultAttempts, poll: DefaultPollInterval}
}

// WithClock sets the clock and the sleep WatchDeadlines and the backoff
// use (tests).
func (e *Everywhere) WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) *Everywhere {
	e.now, e.sleep = now, sleep
	return e
}

// FlushAll flushes every recorded stage once (so a batch of changes costs
// one flush per stage) and returns how many were flushed. A stage that no
// longer exists is skipped; a stage that could not be flushed, after the
// backoff on throttling, makes the error.
func (e *Everywhere) FlushAll(ctx context.Context, why string) (int, error) {
	stages, err := e.registry.ListStages(ctx)
	if err != nil {
		return 0, fmt.Errorf("list stages: %w", err)
	}
	var errs []error
	n := 0
	for _, s := range stages {
		switch err := e.flushStage(ctx, s); {
		case err == nil:
			n++
		case errorCode(err) == "NotFoundException":
			e.log.LogAttrs(ctx, slog.LevelWarn, "stage gone: not flushed", slog.String("apiId", s.APIID), slog.String("stage", s.Name))
		default:
			errs = append(errs, fmt.Errorf("flush %s/%s: %w", s.APIID, s.Name, err))
		}
	}
	attrs := []slog.Attr{slog.String("reason", why), slog.Int("stages", len(stages)), slog.Int("flushed", n)}
	if err := errors.Join(errs...); err != nil {
		e.log.LogAttrs(ctx, slog.LevelError, "authorizer caches not flushed", append(attrs, slog.String("error", err.Error()))...)
		return n, err
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, "authorizer caches flushed", attrs...)
	return n, nil
}

// flushStage flushes one stage, backing off (exponentially, jittered, at
// most maxBackoff) while API Gateway throttles (TooManyRequestsException,
// LimitExceededException).
func (e *Everywhere) flushStage(ctx context.Context, s apikey.Stage) error {
	var err error
	for attempt := range e.attempts {
		if s.HTTP {
			_, err = e.httpAPI.ResetAuthorizersCache(ctx, &apigatewayv2.ResetAuthorizersCacheInput{
				ApiId: aws.String(s.APIID), StageName: aws.String(s.Name),
			})
		} else {
			_, err = e.api.FlushStageAuthorizersCache(ctx, &apigateway.FlushStageAuthorizersCacheInput{
				RestApiId: aws.String(s.APIID), StageName: aws.String(s.Name),
			})
		}
		if code := errorCode(err); err == nil || code != "TooManyRequestsException" && code != "LimitExceededException" {
			return err
		}
		if serr := e.sleep(ctx, retry.Backoff(attempt, 200*time.Millisecond, maxBackoff)); serr != nil {
			return err
		}
	}
	return err
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// HandleStream is the keys table stream's handler: when any record of the
// batch stops a credential (see Stops) or changes a tenant's status (a
// suspension stops every key of the tenant), every recorded stage is flushed
// once. A failed flush fails the batch, so the event source retries it.
func (e *Everywhere) HandleStream(ctx context.Context, ev events.DynamoDBEvent) error {
	why := ""
	for i := range ev.Records {
		r := &ev.Records[i]
		if isTenant, changed := dynamostore.TenantStatusChanged(r.Change.Keys, r.Change.OldImage, r.Change.NewImage); isTenant {
			if changed { // a suspension refuses every key of the tenant
				why = "tenant status"
				break
			}
			continue
		}
		oldKey, err1 := dynamostore.DecodeStreamKey(r.Change.OldImage)
		newKey, err2 := dynamostore.DecodeStreamKey(r.Change.NewImage)
		if err := errors.Join(err1, err2); err != nil {
			// An image this code cannot read may stop a credential: flush.
			e.log.LogAttrs(ctx, slog.LevelWarn, "stream image not decoded: flushing", slog.String("eventId", r.EventID), slog.String("error", err.Error()))
			why = "undecoded"
			break
		}
		if why = Stops(oldKey, newKey, e.now()); why != "" {
			break
		}
	}
	if why == "" {
		return nil
	}
	_, err := e.FlushAll(ctx, why)
	return err
}

// Stops says why a change from old to new must stop a credential that a
// gateway may still hold an Allow for ("" when it need not): a revocation,
// an expiry set or moved earlier, any change of the allow-lists (a
// widening flush costs one flush and is always safe), and a rotation whose
// previous secret stops at once (no grace period). New keys and TTL
// removals stop nothing; a grace period's end is a deadline (see
// WatchDeadlines).
func Stops(old, new *apikey.StoredKey, now time.Time) string {
	if old == nil || new == nil {
		return ""
	}
	switch {
	case new.Status == apikey.StatusRevoked && old.Status != apikey.StatusRevoked:
		return "revoke"
	case new.ExpiresAt != nil && (old.ExpiresAt == nil || new.ExpiresAt.Before(*old.ExpiresAt)):
		return "expiry"
	case !slices.Equal(old.AllowList.IPs, new.AllowList.IPs) || !slices.Equal(old.AllowList.Origins, new.AllowList.Origins):
		return "allow-list"
	case !slices.Equal(old.Scopes, new.Scopes):
		return "scopes"
	case old.SecretHash.Version != new.SecretHash.Version || !bytes.Equal(old.SecretHash.Sum, new.SecretHash.Sum):
		if new.PreviousSecretExpiresAt == nil || !new.PreviousSecretExpiresAt.After(now) {
			return "rotate"
		}
	}
	return ""
}

// WatchDeadlines runs until ctx is done (the schedule's invocation lasts a
// minute): every poll interval it reads the deadlines that have come,
// flushes every stage once for all of them, and forgets them once flushed.
// A deadline whose flush failed stays and is tried again at the next poll;
// WatchDeadlines returns the last failure, so an invocation that ended
// with deadlines unflushed counts as an error.
func (e *Everywhere) WatchDeadlines(ctx context.Context) error {
	var last error
	for {
		last = e.flushDue(ctx)
		if e.sleep(ctx, e.poll) != nil {
			return last
		}
	}
}

func (e *Everywhere) flushDue(ctx context.Context) error {
	due, err := e.registry.DueDeadlines(ctx, e.now())
	if err != nil || len(due) == 0 {
		return err
	}
	if _, err := e.FlushAll(ctx, "deadline"); err != nil {
		return err
	}
	for _, d := range due {
		if err := e.registry.DeleteDeadline(ctx, d); err != nil {
			e.log.LogAttrs(ctx, slog.LevelWarn, "deadline not forgotten: flushed again next poll", slog.String("keyId", d.KeyID), slog.String("error", err.Error()))
		}
	}
	return nil
}

// ScheduledRun bounds one scheduled invocation: the schedule fires every
// minute, so each invocation watches for a minute (less the margin its
// deadline needs), and the next one takes over.
const ScheduledRun = time.Minute

// Handle is the flush function's handler: a keys-table stream batch
// (HandleStream) or a scheduled event (WatchDeadlines for ScheduledRun, or
// until 2 s before the invocation's deadline).
func (e *Everywhere) Handle(ctx context.Context, raw json.RawMessage) error {
	var probe struct {
		Records    []json.RawMessage `json:"Records"`
		DetailType string            `json:"detail-type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return fmt.Errorf("event is not JSON: %w", err)
	}
	switch {
	case probe.Records != nil:
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("stream event: %w", err)
		}
		return e.HandleStream(ctx, ev)
	case probe.DetailType == "Scheduled Event":
		end := e.now().Add(ScheduledRun)
		if d, ok := ctx.Deadline(); ok && d.Add(-2*time.Second).Before(end) {
			end = d.Add(-2 * time.Second)
		}
		ctx, cancel := context.WithDeadline(ctx, end)
		defer cancel()
		return e.WatchDeadlines(ctx)
	}
	return errors.New("event is neither a stream batch nor a scheduled event")
}
