package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/keyward/keyward/pkg/client"
)

func Example() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:3000", os.Getenv("KEYWARD_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	k, err := c.CreateKey(ctx, client.CreateKeyInput{Name: "CRM sync", Scopes: []string{"recordings:read"}})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		log.Fatalf("refused: %s (field %q)", apiErr.Code, apiErr.Field)
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created", k.ID) // k.Token is shown this once: store it, never log it
	for key, err := range c.Keys(ctx, client.ListKeysParams{Status: "active"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(key.ID, key.Name)
	}
}

// A service not behind keyward's API Gateway checks the Authorization header
// of each request. The cache trades a revocation bound of up to its TTL for
// fewer calls.
func ExampleVerifier() {
	c, err := client.New("http://127.0.0.1:3000", os.Getenv("KEYWARD_VERIFY_TOKEN")) // a keys:verify key
	if err != nil {
		log.Fatal(err)
	}
	v := client.NewVerifier(c, client.WithCache(2*time.Second, 10000))
	http.HandleFunc("/recordings/", func(w http.ResponseWriter, r *http.Request) {
		res, err := v.Verify(r.Context(), r.Header.Get("Authorization"))
		switch {
		case err != nil:
			http.Error(w, "try again", http.StatusServiceUnavailable)
		case !res.Valid:
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		case !slices.Contains(res.Scopes, "recordings:read"):
			http.Error(w, "forbidden", http.StatusForbidden)
		default:
			fmt.Fprintf(w, "hello %s of %s\n", res.Name, res.TenantID)
		}
	})
}
