package apigw

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
)

// TestAHeaderSentTwiceIsAList: a header sent under two spellings of its name
// is read as the list of both values, the same every time, never as whichever the
// maps' order yields first; API Gateway's copy of the last value in headers
// is not counted twice.
func TestAHeaderSentTwiceIsAList(t *testing.T) {
	twoSpellings := []events.APIGatewayProxyRequest{
		{Headers: map[string]string{"If-Match": `"3"`, "if-match": `"4"`}},
		{MultiValueHeaders: map[string][]string{"If-Match": {`"3"`}, "IF-MATCH": {`"4"`}}},
		{MultiValueHeaders: map[string][]string{"If-Match": {`"3"`, `"4"`}}, Headers: map[string]string{"If-Match": `"4"`}},
		{MultiValueHeaders: map[string][]string{"If-Match": {`"3"`}}, Headers: map[string]string{"if-match": `"4"`}},
	}
	for i, req := range twoSpellings {
		first := Header(req, "If-Match")
		if first != `"3", "4"` && first != `"4", "3"` {
			t.Fatalf("request %d: Header = %s, want both values", i, first)
		}
		for range 50 {
			if got := Header(req, "If-Match"); got != first {
				t.Fatalf("request %d: Header = %s, then %s", i, first, got)
			}
			if v, err := ParseIfMatch(req); apikey.ErrorCode(err) != apikey.ECodeInvalid {
				t.Fatalf("request %d: ParseIfMatch = %v, %v; want invalid_request", i, v, err)
			}
		}
	}
	one := events.APIGatewayProxyRequest{
		MultiValueHeaders: map[string][]string{"If-Match": {`"3"`}},
		Headers:           map[string]string{"If-Match": `"3"`},
	}
	if v, err := ParseIfMatch(one); err != nil || v == nil || *v != 3 {
		t.Fatalf("one If-Match in both maps: %v, %v; want 3", v, err)
	}
	ct := events.APIGatewayProxyRequest{
		Headers: map[string]string{"Content-Type": "application/json", "content-type": "text/plain"},
		Body:    `{}`,
	}
	for range 50 {
		var v map[string]any
		if err := DecodeJSON(ct, &v); !isTransport(err, CodeUnsupportedMedia) {
			t.Fatalf("two Content-Types: err = %v, want unsupported_media_type", err)
		}
	}
}
