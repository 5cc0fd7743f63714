package dynamostore

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
)

// timeLayout stores times as fixed-width UTC strings, so they compare
// correctly as strings in condition and filter expressions.
const timeLayout = "2006-01-02T15:04:05.000Z"

// keyItem is a key as stored. It never holds a secret or token: only
// HMAC-SHA256 hashes under a versioned pepper.
type keyItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	GSI1PK string `dynamodbav:"gsi1pk"`
	GSI1SK string `dynamodbav:"gsi1sk"`
	GSI2PK string `dynamodbav:"gsi2pk"`
	GSI2SK string `dynamodbav:"gsi2sk"`
	// Sparse schedule indexes of the reminders job, on active keys only:
	// byExpiry (expPk=EXP#<expiry day>, expSk=<expiresAt>#<id>) for keys
	// with an expiry, byIdle (idlePk=IDLE#<day>, idleSk=<id>) for the day
	// the key is next checked for disuse.
	ExpPK  string `dynamodbav:"expPk,omitempty"`
	ExpSK  string `dynamodbav:"expSk,omitempty"`
	IdlePK string `dynamodbav:"idlePk,omitempty"`
	IdleSK string `dynamodbav:"idleSk,omitempty"`

	ID                      string            `dynamodbav:"id"`
	TenantID                string            `dynamodbav:"tenantId"`
	Name                    string            `dynamodbav:"name"`
	Description             string            `dynamodbav:"description"`
	Type                    string            `dynamodbav:"type"`
	Scopes                  []string          `dynamodbav:"scopes"`
	AllowIPs                []string          `dynamodbav:"allowIps"`
	AllowOrigins            []string          `dynamodbav:"allowOrigins"`
	Metadata                map[string]string `dynamodbav:"metadata"`
	Status                  string            `dynamodbav:"status"`
	IsDefault               bool              `dynamodbav:"isDefault"`
	Hint                    string            `dynamodbav:"hint"`
	CreatedAt               string            `dynamodbav:"createdAt"`
	CreatedBy               string            `dynamodbav:"createdBy"`
	CreatedByKeyID          string            `dynamodbav:"createdByKeyId,omitempty"`
	CreatedByKeyName        string            `dynamodbav:"createdByKeyName,omitempty"`
	UpdatedAt               string            `dynamodbav:"updatedAt"`
	UpdatedBy               string            `dynamodbav:"updatedBy"`
	UpdatedByKeyID          string            `dynamodbav:"updatedByKeyId,omitempty"`
	UpdatedByKeyName        string            `dynamodbav:"updatedByKeyName,omitempty"`
	ExpiresAt               string            `dynamodbav:"expiresAt,omitempty"`
	RevokedAt               string            `dynamodbav:"revokedAt,omitempty"`
	RevokedBy               string            `dynamodbav:"revokedBy,omitempty"`
	RevokedByKeyID          *string           `dynamodbav:"revokedByKeyId,omitempty"`
	RevokedByKeyName        *string           `dynamodbav:"revokedByKeyName,omitempty"`
	RotatedAt               string            `dynamodbav:"rotatedAt,omitempty"`
	PreviousSecretExpiresAt string            `dynamodbav:"previousSecretExpiresAt,omitempty"`
	Leak                    *leakAttr         `dynamodbav:"leak,omitempty"`
	Version                 int64             `dynamodbav:"version"`

	SecretHash        []byte `dynamodbav:"secretHash,omitempty"`
	PepperVersion     int    `dynamodbav:"pepperVersion,omitempty"`
	PrevSecretHash    []byte `dynamodbav:"prevSecretHash,omitempty"`
	PrevPepperVersion int    `dynamodbav:"prevPepperVersion,omitempty"`

	// TTL is when DynamoDB may purge a revoked key (epoch seconds).
	TTL int64 `dynamodbav:"ttl,omitempty"`

	// RequestID and SourceIP describe the write that produced this version,
	// with UpdatedBy, so the stream image says who did what from where.
	RequestID string `dynamodbav:"requestId,omitempty"`
	SourceIP  string `dynamodbav:"sourceIp,omitempty"`

	// WriteID is unique to the store call that wrote this version, so a
	// retried write can tell its own committed version from another's.
	WriteID string `dynamodbav:"writeId,omitempty"`
}

// claimItem reserves a unique value (a name, a tenant's default key) for a key.
type claimItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	KeyID    string `dynamodbav:"keyId"`
	TenantID string `dynamodbav:"tenantId"`
}

// usageItem holds what changes on use, away from the key item and its indexes.
type usageItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	LastUsedAt string `dynamodbav:"lastUsedAt"`
}

type pepperItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Version    int    `dynamodbav:"version"`
	Ciphertext []byte `dynamodbav:"ciphertext"`
	KMSKeyID   string `dynamodbav:"kmsKeyId"`
	CreatedAt  string `dynamodbav:"createdAt"`
}

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return fmtTime(*t)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeLayout, s)
	return t
}

func parseTimePtr(s string) *time.Time {
	if s == "" {
		return nil
	}
	t := parseTime(s)
	return &t
}

func toItem(k *apikey.StoredKey) keyItem {
	it := keyItem{
		PK: keyPK(k.ID), SK: skKey,
		GSI1PK: tenantPK(k.TenantID), GSI1SK: k.ID,
		GSI2PK: tenantPK(k.TenantID), GSI2SK: nameSK(k.NameKey, k.ID),
		ID: k.ID, TenantID: k.TenantID, Name: k.Name, Description: k.Description, Type: k.Type,
		Scopes: nonNil(k.Scopes), AllowIPs: nonNil(k.AllowList.IPs), AllowOrigins: nonNil(k.AllowList.Origins),
		Metadata: k.Metadata, Status: string(k.Status), IsDefault: k.IsDefault, Hint: k.Hint,
		CreatedAt: fmtTime(k.CreatedAt), CreatedBy: k.CreatedBy,
		CreatedByKeyID: k.CreatedByKeyID, CreatedByKeyName: k.CreatedByKeyName,
		UpdatedAt: fmtTime(k.UpdatedAt), UpdatedBy: k.UpdatedBy,
		UpdatedByKeyID: k.UpdatedByKeyID, UpdatedByKeyName: k.UpdatedByKeyName,
		RevokedByKeyID: k.RevokedByKeyID, RevokedByKeyName: k.RevokedByKeyName,
		ExpiresAt: fmtTimePtr(k.ExpiresAt), RevokedAt: fmtTimePtr(k.RevokedAt),
		RotatedAt: fmtTimePtr(k.RotatedAt), PreviousSecretExpiresAt: fmtTimePtr(k.PreviousSecretExpiresAt),
		Version:    k.Version,
		SecretHash: k.SecretHash.Sum, PepperVersion: k.SecretHash.Version,
		RequestID: k.Change.RequestID, SourceIP: k.Change.SourceIP,
	}
	if it.Metadata == nil {
		it.Metadata = map[string]string{}
	}
	if k.RevokedBy != nil {
		it.RevokedBy = *k.RevokedBy
	}
	if k.PreviousHash != nil {
		it.PrevSecretHash, it.PrevPepperVersion = k.PreviousHash.Sum, k.PreviousHash.Version
	}
	if k.Status == apikey.StatusActive {
		if k.ExpiresAt != nil {
			it.ExpPK, it.ExpSK = expiryPK(*k.ExpiresAt), fmtTime(*k.ExpiresAt)+"#"+k.ID
		}
		check := k.IdleCheckAt
		if check.IsZero() {
			check = k.CreatedAt.Add(24 * time.Hour)
		}
		it.IdlePK, it.IdleSK = idlePK(check), k.ID
	}
	if k.Leak != nil {
		it.Leak = &leakAttr{ReportedAt: fmtTime(k.Leak.ReportedAt), URL: k.Leak.URL, Source: k.Leak.Source}
	}
	if !k.PurgeAt.IsZero() {
		it.TTL = k.PurgeAt.Unix()
	}
	return it
}

func fromItem(it *keyItem) *apikey.StoredKey {
	k := &apikey.StoredKey{Key: apikey.Key{
		ID: it.ID, TenantID: it.TenantID, Name: it.Name, Description: it.Description, Type: it.Type,
		Scopes:    nonNil(it.Scopes),
		AllowList: apikey.AllowList{IPs: nonNil(it.AllowIPs), Origins: nonNil(it.AllowOrigins)},
		Metadata:  it.Metadata, Status: apikey.Status(it.Status), IsDefault: it.IsDefault, Hint: it.Hint,
		CreatedAt: parseTime(it.CreatedAt), CreatedBy: it.CreatedBy,
		CreatedByKeyID: it.CreatedByKeyID, CreatedByKeyName: it.CreatedByKeyName,
		UpdatedAt: parseTime(it.UpdatedAt), UpdatedBy: it.UpdatedBy,
		UpdatedByKeyID: it.UpdatedByKeyID, UpdatedByKeyName: it.UpdatedByKeyName,
		RevokedByKeyID: it.RevokedByKeyID, RevokedByKeyName: it.RevokedByKeyName,
		ExpiresAt: parseTimePtr(it.ExpiresAt), RevokedAt: parseTimePtr(it.RevokedAt),
		RotatedAt: parseTimePtr(it.RotatedAt), PreviousSecretExpiresAt: parseTimePtr(it.PreviousSecretExpiresAt),
		Version: it.Version,
	}}
	if k.Metadata == nil {
		k.Metadata = map[string]string{}
	}
	if nk, ok := strings.CutSuffix(it.GSI2SK, "#"+it.ID); ok {
		k.NameKey = nk
	}
	if t, err := time.Parse(dayLayout, strings.TrimPrefix(it.IdlePK, idlePrefix)); err == nil {
		k.IdleCheckAt = t
	}
	if it.Leak != nil {
		k.Leak = &apikey.Leak{ReportedAt: parseTime(it.Leak.ReportedAt), URL: it.Leak.URL, Source: it.Leak.Source}
	}
	if it.RevokedBy != "" {
		by := it.RevokedBy
		k.RevokedBy = &by
	}
	k.SecretHash = apikey.Hash{Version: it.PepperVersion, Sum: it.SecretHash}
	if len(it.PrevSecretHash) > 0 {
		k.PreviousHash = &apikey.Hash{Version: it.PrevPepperVersion, Sum: it.PrevSecretHash}
	}
	if it.TTL > 0 {
		k.PurgeAt = time.Unix(it.TTL, 0).UTC()
	}
	k.Change = apikey.Change{Actor: it.UpdatedBy, ActorKeyID: it.UpdatedByKeyID, ActorKeyName: it.UpdatedByKeyName,
		RequestID: it.RequestID, SourceIP: it.SourceIP}
	return k
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// DecodeKeyItem decodes a key item as stored (a GetItem result or a stream
// image), so the one layout of this file is the only one in the code base.
// Its errors name attribute types, never values.
func DecodeKeyItem(item map[string]types.AttributeValue) (*apikey.StoredKey, error) {
	var it keyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, err
	}
	return fromItem(&it), nil
}

// leakAttr is a key's leak report (a map attribute).
type leakAttr struct {
	ReportedAt string `dynamodbav:"reportedAt"`
	URL        string `dynamodbav:"url"`
	Source     string `dynamodbav:"source,omitempty"`
}
