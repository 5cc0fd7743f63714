package apikey

import (
	"testing"
	"time"
)

func TestAllowListContainment(t *testing.T) {
	caller := Principal{AllowList: AllowList{
		IPs:     []string{"10.1.2.0/24", "2001:db8::/32"},
		Origins: []string{"https://crm.example.com", "*.example.org"},
	}}
	tests := []struct {
		name string
		a    AllowList
		ok   bool
	}{
		{"SameLists", caller.AllowList, true},
		{"NarrowerCIDR", AllowList{IPs: []string{"10.1.2.3/32"}, Origins: []string{"https://crm.example.com"}}, true},
		{"NarrowerV6", AllowList{IPs: []string{"2001:db8:1::/48"}, Origins: []string{"https://a.example.org"}}, true},
		{"MappedV4InsideV4", AllowList{IPs: []string{"::ffff:10.1.2.9/128"}, Origins: []string{"*.b.example.org"}}, true},
		{"EmptyIPsIsEverywhere", AllowList{Origins: []string{"https://crm.example.com"}}, false},
		{"EmptyOriginsIsEverywhere", AllowList{IPs: []string{"10.1.2.3/32"}}, false},
		{"WiderCIDR", AllowList{IPs: []string{"10.1.0.0/16"}, Origins: []string{"https://crm.example.com"}}, false},
		{"DisjointCIDR", AllowList{IPs: []string{"10.9.2.0/24"}, Origins: []string{"https://crm.example.com"}}, false},
		{"V4NotInsideV6", AllowList{IPs: []string{"32.1.13.184/32"}, Origins: []string{"https://crm.example.com"}}, false},
		{"OtherOrigin", AllowList{IPs: []string{"10.1.2.3/32"}, Origins: []string{"https://evil.example.com"}}, false},
		{"WildcardIsWiderThanHost", AllowList{IPs: []string{"10.1.2.3/32"}, Origins: []string{"*.example.com"}}, false},
		{"ApexIsNotASubdomain", AllowList{IPs: []string{"10.1.2.3/32"}, Origins: []string{"https://example.org"}}, false},
		{"LookalikeSuffix", AllowList{IPs: []string{"10.1.2.3/32"}, Origins: []string{"https://badexample.org"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := normalizeAllowList(text, tt.a)
			if err != nil {
				t.Fatal(err)
			}
			err = checkAllowListWithin(caller, n)
			if got := err == nil; got != tt.ok {
				t.Fatalf("within = %v (%v), want %v", got, err, tt.ok)
			}
			if err != nil && ErrorCode(err) != ECodeForbidden {
				t.Fatalf("code = %s, want forbidden", ErrorCode(err))
			}
		})
	}
	if err := checkAllowListWithin(Principal{}, AllowList{}); err != nil {
		t.Fatalf("an unrestricted caller may create an unrestricted key: %v", err)
	}
}

func TestExpiryContainment(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	later, earlier := at.Add(time.Second), at.Add(-time.Second)
	restricted := Principal{ExpiresAt: &at}
	tests := []struct {
		name string
		p    Principal
		exp  *time.Time
		ok   bool
	}{
		{"UnrestrictedCallerAnyExpiry", Principal{}, nil, true},
		{"NoExpiryOutlivesCaller", restricted, nil, false},
		{"LaterOutlivesCaller", restricted, &later, false},
		{"SameInstant", restricted, &at, true},
		{"Earlier", restricted, &earlier, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkExpiryWithin(tt.p, tt.exp)
			if got := err == nil; got != tt.ok {
				t.Fatalf("within = %v (%v), want %v", got, err, tt.ok)
			}
		})
	}
}
