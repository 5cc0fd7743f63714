package apikey

import "time"

// Stage is an API Gateway stage the authorizer has served: an API's ID and
// stage name, and whether it is an HTTP API's (API Gateway v2) rather than a
// REST API's. Changes that must stop a credential flush the authorizer
// cache of every recorded stage.
type Stage struct {
	APIID string
	Name  string
	HTTP  bool
}

// Deadline is the moment a key's credential stops working by itself (its
// expiresAt, or the end of a rotation's grace period) while a gateway may
// hold an Allow for it: at At, the gateway caches must be flushed.
type Deadline struct {
	KeyID string
	At    time.Time
}
