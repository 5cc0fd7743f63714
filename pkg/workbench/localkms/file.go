package localkms

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// stateFile is the JSON layout of the WithFile file.
type stateFile struct {
	Keys    []fileKey         `json:"keys"`
	Aliases map[string]string `json:"aliases"`
}

type fileKey struct {
	ID          string    `json:"id"`
	Material    []byte    `json:"material"`
	CreatedAt   time.Time `json:"createdAt"`
	Description string    `json:"description,omitempty"`
}

// load reads s.path into s; a missing file is an empty key set.
func (s *Server) load() error {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("localkms: read %s: %w", s.path, err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("localkms: decode %s: %w", s.path, err)
	}
	for _, fk := range st.Keys {
		if !uuidRE.MatchString(fk.ID) || len(fk.Material) != 32 {
			return fmt.Errorf("localkms: %s: key %q is malformed", s.path, fk.ID)
		}
		k, err := newMasterKey(fk.ID, fk.Material, fk.CreatedAt, fk.Description)
		if err != nil {
			return err
		}
		s.keys[fk.ID] = k
	}
	for alias, id := range st.Aliases {
		if _, err := aliasName(alias); err != nil || s.keys[id] == nil {
			return fmt.Errorf("localkms: %s: alias %q is malformed or names an unknown key", s.path, alias)
		}
		s.aliases[alias] = id
	}
	return nil
}

// save writes s's keys to s.path atomically (temporary file and rename), with
// mode 0600. The caller holds s.mu.
func (s *Server) save() error {
	if s.path == "" {
		return nil
	}
	st := stateFile{Aliases: s.aliases}
	for _, k := range s.keys {
		st.Keys = append(st.Keys, fileKey{ID: k.id, Material: k.material, CreatedAt: k.created, Description: k.description})
	}
	sort.Slice(st.Keys, func(i, j int) bool { return st.Keys[i].ID < st.Keys[j].ID })
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("localkms: encode state: %w", err)
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("localkms: %w", err)
	}
	f, err := os.CreateTemp(dir, ".localkms-*.tmp") // created with mode 0600
	if err != nil {
		return fmt.Errorf("localkms: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("localkms: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("localkms: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("localkms: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("localkms: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("localkms: %w", err)
	}
	return nil
}
