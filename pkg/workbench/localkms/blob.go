package localkms

import (
	"encoding/json"
	"fmt"
	"io"
)

// Ciphertext blob layout:
//
//	[0]         format version (1)
//	[1]         n = length of the key ID
//	[2:2+n]     key ID (UUID), so Decrypt needs no KeyId
//	[2+n:14+n]  GCM nonce
//	[14+n:]     AES-256-GCM ciphertext and tag
//
// The additional data is the header (bytes [0:2+n]) followed by the canonical
// encryption context, so neither the key ID nor the context can be changed.
const (
	blobVersion = 1
	nonceSize   = 12
	tagSize     = 16
)

// canonicalContext encodes an encryption context as JSON with sorted keys;
// a nil and an empty context are the same, as in KMS.
func canonicalContext(ctx map[string]string) ([]byte, error) {
	if len(ctx) == 0 {
		return []byte("{}"), nil
	}
	return json.Marshal(ctx) // encoding/json sorts map keys
}

func (s *Server) seal(k *masterKey, plaintext []byte, encCtx map[string]string) ([]byte, error) {
	ec, err := canonicalContext(encCtx)
	if err != nil {
		return nil, fmt.Errorf("encryption context: %w", err)
	}
	header := append([]byte{blobVersion, byte(len(k.id))}, k.id...)
	nonce := make([]byte, nonceSize)
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	blob := append(append([]byte{}, header...), nonce...)
	return k.aead.Seal(blob, nonce, plaintext, append(header, ec...)), nil
}

// blobKeyID returns the key ID embedded in a ciphertext blob.
func blobKeyID(blob []byte) (string, bool) {
	if len(blob) < 2 || blob[0] != blobVersion {
		return "", false
	}
	n := int(blob[1])
	if n == 0 || len(blob) < 2+n+nonceSize+tagSize {
		return "", false
	}
	return string(blob[2 : 2+n]), true
}

func open(k *masterKey, blob []byte, encCtx map[string]string) ([]byte, error) {
	ec, err := canonicalContext(encCtx)
	if err != nil {
		return nil, invalidCiphertext()
	}
	n := int(blob[1])
	header := blob[:2+n]
	nonce := blob[2+n : 2+n+nonceSize]
	aad := append(append([]byte{}, header...), ec...)
	plaintext, err := k.aead.Open(nil, nonce, blob[2+n+nonceSize:], aad)
	if err != nil {
		return nil, invalidCiphertext()
	}
	return plaintext, nil
}
