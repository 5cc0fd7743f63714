package kmsclient

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// partitions maps a region's prefix to its partition's DNS suffix, as the
// SDK's partition table does (first match wins; any other region is in the
// aws partition, amazonaws.com, as are aws-us-gov's us-gov-* regions).
var partitions = []struct{ prefix, dnsSuffix string }{
	{"cn-", "amazonaws.com.cn"},    // aws-cn
	{"eusc-", "amazonaws.eu"},      // aws-eusc
	{"us-isob-", "sc2s.sgov.gov"},  // aws-iso-b
	{"us-isof-", "csp.hci.ic.gov"}, // aws-iso-f
	{"us-iso-", "c2s.ic.gov"},      // aws-iso
	{"eu-isoe-", "cloud.adc-e.uk"}, // aws-iso-e
	{"", "amazonaws.com"},          // aws, aws-us-gov
}

// RegionalEndpoint returns KMS's endpoint in region:
// https://kms.<region>.<partition DNS suffix>, or kms-fips.… with fips. The
// region must be a plain region name (us-east-1, not us-east-1-fips); dual-
// stack endpoints are not offered (set BaseEndpoint for one).
func RegionalEndpoint(region string, fips bool) (string, error) {
	if !validRegion(region) {
		return "", fmt.Errorf("kmsclient: region %q is not a valid region name", region)
	}
	host := "kms"
	if fips {
		host = "kms-fips"
	}
	for _, p := range partitions {
		if strings.HasPrefix(region, p.prefix) {
			return "https://" + host + "." + region + "." + p.dnsSuffix, nil
		}
	}
	panic("unreachable: the last partition matches every region")
}

// validRegion reports whether region can be a DNS label: lower-case letters,
// digits and inner hyphens.
func validRegion(region string) bool {
	if region == "" || len(region) > 63 || region[0] == '-' || region[len(region)-1] == '-' {
		return false
	}
	for _, r := range region {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// resolveEndpoint returns opts.BaseEndpoint, checked, else the regional endpoint.
func resolveEndpoint(opts Options) (string, error) {
	if opts.BaseEndpoint == "" {
		return RegionalEndpoint(opts.Region, opts.UseFIPSEndpoint)
	}
	u, err := url.Parse(opts.BaseEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("kmsclient: endpoint %q must be an http or https URL", opts.BaseEndpoint)
	}
	return strings.TrimSuffix(opts.BaseEndpoint, "/"), nil
}

// serviceEndpoint asks cfg.ConfigSources for a KMS endpoint, as the SDK's
// clients do: pkg/awsenv's source answers from AWS_ENDPOINT_URL_KMS, the SDK
// config package's from the same variable and the shared config file.
func serviceEndpoint(sources []any) (string, bool) {
	for _, s := range sources {
		p, ok := s.(interface {
			GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
		})
		if !ok {
			continue
		}
		if v, found, err := p.GetServiceBaseEndpoint(context.Background(), ServiceID); err == nil && found && v != "" {
			return v, true
		}
	}
	return "", false
}

// useFIPS asks cfg.ConfigSources whether FIPS endpoints are wanted
// (AWS_USE_FIPS_ENDPOINT), as the SDK's clients do.
func useFIPS(sources []any) bool {
	for _, s := range sources {
		p, ok := s.(interface {
			GetUseFIPSEndpoint(ctx context.Context) (aws.FIPSEndpointState, bool, error)
		})
		if !ok {
			continue
		}
		if v, found, err := p.GetUseFIPSEndpoint(context.Background()); err == nil && found {
			return v == aws.FIPSEndpointStateEnabled
		}
	}
	return false
}
