package localkms

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log"
	"mime"
	"net/http"
	"strings"
)

const (
	contentType    = "application/x-amz-json-1.1"
	targetPrefix   = "TrentService."
	maxRequestBody = 1 << 20
	symmetric      = "SYMMETRIC_DEFAULT"
)

// apiError is a KMS error response: an HTTP status and the "__type" the SDK
// maps to its typed errors.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func errorf(status int, typ, msg string) *apiError {
	return &apiError{status: status, typ: typ, msg: msg}
}

func validation(msg string) *apiError {
	return errorf(http.StatusBadRequest, "ValidationException", msg)
}

func notFound(msg string) *apiError {
	return errorf(http.StatusBadRequest, "NotFoundException", msg)
}

func invalidCiphertext() *apiError {
	return errorf(http.StatusBadRequest, "InvalidCiphertextException",
		"The ciphertext is invalid, was not produced by this key, or the encryption context does not match.")
}

// ServeHTTP answers one TrentService JSON 1.1 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := s.serve(w, r)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			log.Printf("localkms: %v", err)
			ae = errorf(http.StatusInternalServerError, "KMSInternalException", "internal error")
		}
		writeJSON(w, ae.status, map[string]string{"__type": ae.typ, "message": ae.msg})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPost {
		return nil, errorf(http.StatusMethodNotAllowed, "UnsupportedOperationException", "only POST is supported")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != contentType {
			return nil, errorf(http.StatusBadRequest, "SerializationException", "Content-Type must be "+contentType)
		}
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok {
		return nil, errorf(http.StatusBadRequest, "UnsupportedOperationException",
			"X-Amz-Target must be TrentService.<Operation>")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "SerializationException", "cannot read request body: "+err.Error())
	}
	switch op {
	case "GenerateDataKey":
		return handle(body, s.generateDataKey)
	case "Encrypt":
		return handle(body, s.encrypt)
	case "Decrypt":
		return handle(body, s.decrypt)
	case "DescribeKey":
		return handle(body, s.describeKey)
	default:
		return nil, errorf(http.StatusBadRequest, "UnsupportedOperationException",
			"operation "+op+" is not supported by localkms")
	}
}

// handle decodes body into In and calls fn.
func handle[In any](body []byte, fn func(*In) (any, error)) (any, error) {
	in := new(In)
	if err := json.Unmarshal(body, in); err != nil {
		return nil, errorf(http.StatusBadRequest, "SerializationException", "cannot decode request: "+err.Error())
	}
	return fn(in)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"__type":"KMSInternalException","message":"cannot encode response"}`)
	}
	w.Header().Set("Content-Type", contentType)
	if id, err := newUUID(rand.Reader); err == nil {
		w.Header().Set("X-Amzn-RequestId", id)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func dryRun(b bool) error {
	if b {
		return errorf(http.StatusPreconditionFailed, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
	}
	return nil
}

func checkAlgorithm(alg string) error {
	if alg != "" && alg != symmetric {
		return errorf(http.StatusBadRequest, "InvalidKeyUsageException",
			"localkms keys support only the "+symmetric+" encryption algorithm")
	}
	return nil
}

type generateDataKeyInput struct {
	KeyID             string `json:"KeyId"`
	KeySpec           string
	NumberOfBytes     *int
	EncryptionContext map[string]string
	DryRun            bool
}

type generateDataKeyOutput struct {
	CiphertextBlob []byte
	Plaintext      []byte
	KeyID          string `json:"KeyId"`
}

func (s *Server) generateDataKey(in *generateDataKeyInput) (any, error) {
	var n int
	switch {
	case in.KeySpec != "" && in.NumberOfBytes != nil:
		return nil, validation("Please specify either number of bytes or key spec, not both.")
	case in.KeySpec == "AES_256":
		n = 32
	case in.KeySpec == "AES_128":
		n = 16
	case in.KeySpec != "":
		return nil, validation("KeySpec must be AES_256 or AES_128")
	case in.NumberOfBytes == nil:
		return nil, validation("Please specify either number of bytes or key spec.")
	case *in.NumberOfBytes < 1 || *in.NumberOfBytes > 1024:
		return nil, validation("NumberOfBytes must be between 1 and 1024")
	default:
		n = *in.NumberOfBytes
	}
	k, err := s.resolve(in.KeyID)
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	plaintext := make([]byte, n)
	if _, err := io.ReadFull(s.rand, plaintext); err != nil {
		return nil, err
	}
	blob, err := s.seal(k, plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return generateDataKeyOutput{CiphertextBlob: blob, Plaintext: plaintext, KeyID: s.keyARN(k.id)}, nil
}

type encryptInput struct {
	KeyID               string `json:"KeyId"`
	Plaintext           []byte
	EncryptionContext   map[string]string
	EncryptionAlgorithm string
	DryRun              bool
}

type cryptOutput struct {
	CiphertextBlob      []byte `json:",omitempty"`
	Plaintext           []byte `json:",omitempty"`
	KeyID               string `json:"KeyId"`
	EncryptionAlgorithm string
}

func (s *Server) encrypt(in *encryptInput) (any, error) {
	if len(in.Plaintext) < 1 || len(in.Plaintext) > 4096 {
		return nil, validation("Plaintext must be between 1 and 4096 bytes")
	}
	if err := checkAlgorithm(in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	k, err := s.resolve(in.KeyID)
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	blob, err := s.seal(k, in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return cryptOutput{CiphertextBlob: blob, KeyID: s.keyARN(k.id), EncryptionAlgorithm: symmetric}, nil
}

type decryptInput struct {
	CiphertextBlob      []byte
	KeyID               string `json:"KeyId"`
	EncryptionContext   map[string]string
	EncryptionAlgorithm string
	DryRun              bool
}

func (s *Server) decrypt(in *decryptInput) (any, error) {
	if len(in.CiphertextBlob) == 0 {
		return nil, validation("CiphertextBlob is required")
	}
	if err := checkAlgorithm(in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	id, ok := blobKeyID(in.CiphertextBlob)
	if !ok {
		return nil, invalidCiphertext()
	}
	s.mu.RLock()
	k := s.keys[id]
	s.mu.RUnlock()
	if k == nil {
		return nil, notFound("Key '" + s.keyARN(id) + "' does not exist")
	}
	if in.KeyID != "" {
		want, err := s.resolve(in.KeyID)
		if err != nil {
			return nil, err
		}
		if want.id != k.id {
			return nil, errorf(http.StatusBadRequest, "IncorrectKeyException",
				"The key ID in the request does not identify the KMS key that encrypted the ciphertext.")
		}
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	plaintext, err := open(k, in.CiphertextBlob, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return cryptOutput{Plaintext: plaintext, KeyID: s.keyARN(k.id), EncryptionAlgorithm: symmetric}, nil
}

type describeKeyInput struct {
	KeyID string `json:"KeyId"`
}

type keyMetadata struct {
	AWSAccountID          string `json:"AWSAccountId"`
	KeyID                 string `json:"KeyId"`
	Arn                   string
	CreationDate          float64
	Enabled               bool
	Description           string
	KeyUsage              string
	KeyState              string
	Origin                string
	KeyManager            string
	KeySpec               string
	CustomerMasterKeySpec string
	EncryptionAlgorithms  []string
	MultiRegion           bool
}

func (s *Server) describeKey(in *describeKeyInput) (any, error) {
	k, err := s.resolve(in.KeyID)
	if err != nil {
		return nil, err
	}
	return map[string]keyMetadata{"KeyMetadata": {
		AWSAccountID:          s.account,
		KeyID:                 k.id,
		Arn:                   s.keyARN(k.id),
		CreationDate:          float64(k.created.UnixMilli()) / 1000,
		Enabled:               true,
		Description:           k.description,
		KeyUsage:              "ENCRYPT_DECRYPT",
		KeyState:              "Enabled",
		Origin:                "AWS_KMS",
		KeyManager:            "CUSTOMER",
		KeySpec:               symmetric,
		CustomerMasterKeySpec: symmetric,
		EncryptionAlgorithms:  []string{symmetric},
	}}, nil
}

// resolve finds the key a KeyId names: a key ID, a key ARN, an alias name
// ("alias/x") or an alias ARN of this server's region and account.
func (s *Server) resolve(keyID string) (*masterKey, error) {
	if keyID == "" {
		return nil, validation("KeyId is required")
	}
	ref := keyID
	if strings.HasPrefix(ref, "arn:") {
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" || parts[3] != s.region || parts[4] != s.account {
			return nil, notFound("Invalid arn or key " + keyID + " does not exist in " + s.region + "/" + s.account)
		}
		ref = parts[5]
		if id, ok := strings.CutPrefix(ref, "key/"); ok {
			ref = id
		} else if !strings.HasPrefix(ref, "alias/") {
			return nil, notFound("Invalid arn " + keyID)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if strings.HasPrefix(ref, "alias/") {
		id, ok := s.aliases[ref]
		if !ok {
			return nil, notFound("Alias " + "arn:aws:kms:" + s.region + ":" + s.account + ":" + ref + " is not found.")
		}
		ref = id
	}
	k, ok := s.keys[ref]
	if !ok {
		return nil, notFound("Key '" + s.keyARN(ref) + "' does not exist")
	}
	return k, nil
}
