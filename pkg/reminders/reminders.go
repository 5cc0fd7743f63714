// Package reminders is the scheduled lifecycle job: it emits key.expiring
// before a key's expiry (at each of the tenant's expiringDays, 30, 7 and 1
// by default), key.expired when it is reached, and key.unused for active
// keys not used for the tenant's unusedDays (90 by default). Each fires once
// per key and threshold: a marker item is written (conditionally) before the
// event is published and removed again if publishing fails, so the next run
// retries; the event ID is fixed by key, type, threshold and reference time,
// so a duplicate can be recognised downstream. It reads only with Query on
// sparse schedule indexes (one partition per day), never Scan.
package reminders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/keyevents"
)

// Store is what the job reads and writes of the keys table (*dynamostore.Store).
type Store interface {
	ExpiringOn(ctx context.Context, day, until time.Time) ([]dynamostore.DueKey, error)
	IdleCheckOn(ctx context.Context, day time.Time) ([]dynamostore.DueKey, error)
	RescheduleIdleCheck(ctx context.Context, id string, from, at time.Time) error
	MarkReminder(ctx context.Context, id, marker string, now time.Time, keep time.Duration) (bool, error)
	UnmarkReminder(ctx context.Context, id, marker string) error
	LastUsed(ctx context.Context, ids []string) (map[string]time.Time, error)
	GetPolicy(ctx context.Context, tenant string) (apikey.Policy, error)
}

// Sender publishes events (*keyevents.Publisher).
type Sender interface {
	Publish(ctx context.Context, evs []keyevents.Event) []error
}

// CatchUpDays is how far back a run looks for expiries and disuse checks it
// missed (the schedule was paused, a run failed).
const CatchUpDays = 7

// markerKeep is how long reminder markers are kept (past any threshold).
const markerKeep = 400 * 24 * time.Hour

const day = 24 * time.Hour

// Job is one reminders run's wiring.
type Job struct {
	store Store
	send  Sender
	now   func() time.Time
	log   *slog.Logger
}

// New returns a Job; now is the clock (tests move a fake one).
func New(store Store, send Sender, now func() time.Time, log *slog.Logger) *Job {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Job{store: store, send: send, now: now, log: log}
}

// Result counts what a run did.
type Result struct {
	Expiring, Expired, Unused, Failed int
}

// Handle is the function's handler: a scheduled invocation (its payload is
// not read) is one Run.
func (j *Job) Handle(ctx context.Context, _ json.RawMessage) (Result, error) {
	return j.Run(ctx)
}

// Run does one pass: expiries from CatchUpDays ago to MaxExpiringDays ahead,
// and disuse checks due from CatchUpDays ago to today. It returns an error
// when anything failed, after doing everything else (the schedule retries).
func (j *Job) Run(ctx context.Context) (Result, error) {
	now := j.now().UTC()
	today := now.Truncate(day)
	r := &run{Job: j, now: now, policies: map[string]apikey.Policy{}}
	var errs []error
	expiring := 1 + CatchUpDays + apikey.MaxExpiringDays
	inOrder(expiring, func(i int) ([]dynamostore.DueKey, error) {
		return j.store.ExpiringOn(ctx, today.Add(time.Duration(i-CatchUpDays)*day), now.Add(apikey.MaxExpiringDays*day))
	}, func(due []dynamostore.DueKey, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		for _, k := range due {
			errs = append(errs, r.expiry(ctx, k))
		}
	})
	inOrder(1+CatchUpDays, func(i int) ([]dynamostore.DueKey, error) {
		return j.store.IdleCheckOn(ctx, today.Add(time.Duration(i-CatchUpDays)*day))
	}, func(due []dynamostore.DueKey, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		errs = append(errs, r.idle(ctx, due))
	})
	err := errors.Join(errs...)
	j.log.LogAttrs(ctx, slog.LevelInfo, "reminders run", slog.Int("expiring", r.res.Expiring),
		slog.Int("expired", r.res.Expired), slog.Int("unused", r.res.Unused), slog.Int("failed", r.res.Failed))
	return r.res, err
}

// readAhead is how many days' Queries a run keeps in flight ahead of the day
// it is working on: the days are read side by side, and at most this many
// days' keys are held at once.
const readAhead = 8

// inOrder reads days 0 … n-1 with read, up to readAhead of them at a time,
// and hands each day's keys to each in day order, from the caller's
// goroutine (each's work on a day runs beside the reads of later days).
func inOrder(n int, read func(day int) ([]dynamostore.DueKey, error), each func([]dynamostore.DueKey, error)) {
	type result struct {
		due []dynamostore.DueKey
		err error
	}
	results := make([]chan result, n)
	start := func(i int) {
		results[i] = make(chan result, 1)
		go func() {
			due, err := read(i)
			results[i] <- result{due, err}
		}()
	}
	for i := range min(readAhead, n) {
		start(i)
	}
	for i := range n {
		res := <-results[i]
		if i+readAhead < n {
			start(i + readAhead)
		}
		each(res.due, res.err)
	}
}

// run is the state of one pass: its time and the policies read so far.
type run struct {
	*Job
	now      time.Time
	policies map[string]apikey.Policy
	res      Result
}

func (r *run) policy(ctx context.Context, tenant string) (apikey.Policy, error) {
	if p, ok := r.policies[tenant]; ok {
		return p, nil
	}
	p, err := r.store.GetPolicy(ctx, tenant)
	if err != nil {
		return apikey.Policy{}, err
	}
	r.policies[tenant] = p
	return p, nil
}

// expiry emits key.expired for a reached expiry, else key.expiring for the
// smallest threshold the remaining time is within (a key created 5 days
// before its expiry hears of the 7-day threshold, not the 30-day one).
func (r *run) expiry(ctx context.Context, k dynamostore.DueKey) error {
	if k.ExpiresAt == nil || k.Status != apikey.StatusActive {
		return nil
	}
	left := k.ExpiresAt.Sub(r.now)
	if left <= 0 {
		e := keyevents.Reminder(keyevents.KeyExpired, k.TenantID, k.ID, k.Name, 0, *k.ExpiresAt, r.now)
		e.ExpiresAt = k.ExpiresAt
		return r.fire(ctx, k.ID, e, &r.res.Expired)
	}
	p, err := r.policy(ctx, k.TenantID)
	if err != nil {
		return err
	}
	threshold := 0
	for _, d := range p.ExpiringDays {
		if left <= time.Duration(d)*day && (threshold == 0 || d < threshold) {
			threshold = d
		}
	}
	if threshold == 0 {
		return nil
	}
	e := keyevents.Reminder(keyevents.KeyExpiring, k.TenantID, k.ID, k.Name, threshold, *k.ExpiresAt, r.now)
	e.ExpiresAt = k.ExpiresAt
	return r.fire(ctx, k.ID, e, &r.res.Expiring)
}

// idle checks keys due a disuse check: one unused for the tenant's
// unusedDays is key.unused (once per last use); every key is rescheduled to
// when it could next be unused, or taken off the schedule once inactive.
func (r *run) idle(ctx context.Context, due []dynamostore.DueKey) error {
	if len(due) == 0 {
		return nil
	}
	ids := make([]string, len(due))
	for i, k := range due {
		ids[i] = k.ID
	}
	used, err := r.store.LastUsed(ctx, ids)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range due {
		if k.Status != apikey.StatusActive || (k.ExpiresAt != nil && !r.now.Before(*k.ExpiresAt)) {
			errs = append(errs, r.store.RescheduleIdleCheck(ctx, k.ID, k.IdleCheckAt, time.Time{}))
			continue
		}
		p, err := r.policy(ctx, k.TenantID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		last, ok := used[k.ID]
		since := k.CreatedAt
		if ok && last.After(since) {
			since = last
		}
		limit := time.Duration(p.UnusedDays) * day
		next := since.Add(limit)
		if !r.now.Before(next) {
			e := keyevents.Reminder(keyevents.KeyUnused, k.TenantID, k.ID, k.Name, p.UnusedDays, since, r.now)
			if ok {
				e.LastUsedAt = &last
			}
			if err := r.fire(ctx, k.ID, e, &r.res.Unused); err != nil {
				errs = append(errs, err)
				continue
			}
			next = r.now.Add(limit)
		}
		errs = append(errs, r.store.RescheduleIdleCheck(ctx, k.ID, k.IdleCheckAt, next))
	}
	return errors.Join(errs...)
}

// fire marks the reminder and publishes its event; an event not published
// is unmarked, so the next run tries again.
func (r *run) fire(ctx context.Context, keyID string, e keyevents.Event, count *int) error {
	ref := ""
	if e.ExpiresAt != nil {
		ref = e.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	marker := string(e.Type) + "#" + strconv.Itoa(e.Threshold) + "#" + ref + "#" + e.ID
	fresh, err := r.store.MarkReminder(ctx, keyID, marker, r.now, markerKeep)
	if err != nil || !fresh {
		return err
	}
	if errs := r.send.Publish(ctx, []keyevents.Event{e}); errs[0] != nil {
		r.res.Failed++
		if uerr := r.store.UnmarkReminder(ctx, keyID, marker); uerr != nil {
			return errors.Join(errs[0], uerr)
		}
		return fmt.Errorf("key %s %s: %w", keyID, e.Type, errs[0])
	}
	*count++
	return nil
}
