// Package localstate is the state file a running local stack (make run)
// writes into its data directory, and the reader tools such as
// scripts/bootstrap use to find its endpoints. It links none of the
// emulators. Workbench only.
package localstate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// File is the state file's name in the stack's data directory.
const File = "stack.json"

// State is what File holds while a stack runs.
type State struct {
	PID         int               `json:"pid"`
	APIURL      string            `json:"apiUrl"`
	LambdaURL   string            `json:"lambdaUrl"`
	DynamoDBURL string            `json:"dynamodbUrl"`
	KMSURL      string            `json:"kmsUrl"`
	APIID       string            `json:"apiId"`
	Stage       string            `json:"stage"`
	Tables      map[string]string `json:"tables"`
	KMSKeys     map[string]string `json:"kmsKeys"`
	// KeysEnv is the key service's environment (KEYS_TABLE, KMS_KEY_ID,
	// TOKEN_PREFIX, ...) as the functions get it.
	KeysEnv map[string]string `json:"keysEnv"`
}

// Read returns the state of the stack running on dataDir, or an error when
// there is none or the process that wrote it has gone.
func Read(dataDir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, File))
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("localstate: %s: %w", File, err)
	}
	if !ProcessAlive(s.PID) {
		return nil, fmt.Errorf("localstate: the stack that wrote %s (pid %d) is not running", File, s.PID)
	}
	return &s, nil
}
