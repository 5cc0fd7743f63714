// Package openapi holds keyward's API contract: the OpenAPI 3.1 document of
// every route, embedded in the binaries that serve it. The verify function
// serves it without authentication at GET /v1/openapi.json. The end-to-end
// test checks every request it sends and every response it receives against
// it, and fails when a template route is missing from it or it names a route
// the template lacks, so it cannot drift from the service.
package openapi

import _ "embed"

// Path is the route serving the document.
const Path = "/v1/openapi.json"

//go:embed openapi.json
var document []byte

// Document returns the OpenAPI 3.1 document (JSON). The caller must not
// modify it.
func Document() []byte { return document }

// Headers are the response headers of GET /v1/openapi.json: the document is
// public and the same for everyone, so it may be cached for a short while.
func Headers() map[string]string {
	return map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "public, max-age=300",
		"X-Content-Type-Options": "nosniff",
	}
}
