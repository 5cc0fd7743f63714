package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Config is the CLI's config file: named profiles, each an API URL and a
// token. It is written with mode 0600 (it holds tokens) under the user's
// config directory (os.UserConfigDir()/keyward/config.json), or at
// KEYWARD_CONFIG.
type Config struct {
	Profiles map[string]Profile `json:"profiles"`
}

// Profile is one API and the key to call it with.
type Profile struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

func (a *app) configPath() (string, error) {
	if p := a.io.Getenv("KEYWARD_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory (set KEYWARD_CONFIG): %w", err)
	}
	return filepath.Join(dir, "keyward", "config.json"), nil
}

func (a *app) loadConfig() (*Config, string, error) {
	path, err := a.configPath()
	if err != nil {
		return nil, "", err
	}
	cfg := &Config{Profiles: map[string]Profile{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, path, nil
	}
	if err != nil {
		return nil, "", err
	}
	if err := json.Unmarshal(b, cfg); err != nil {
		return nil, "", fmt.Errorf("%s is not a keyward config file: %w", path, err)
	}
	if cfg.Profiles == nil {
		cfg.Profiles = map[string]Profile{}
	}
	return cfg, path, nil
}

// saveConfig writes cfg to path with mode 0600 (tightening a looser existing
// file), through a temporary file renamed into place.
func saveConfig(cfg *Config, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// credentials are the API URL and token: KEYWARD_URL and KEYWARD_TOKEN
// override the profile's.
func (a *app) credentials() (url, token string, err error) {
	url, token = a.io.Getenv("KEYWARD_URL"), a.io.Getenv("KEYWARD_TOKEN")
	if url == "" || token == "" {
		cfg, _, err := a.loadConfig()
		if err != nil {
			return "", "", &exitError{code: ExitFailure, err: err}
		}
		p := cfg.Profiles[a.profile]
		if url == "" {
			url = p.URL
		}
		if token == "" {
			token = p.Token
		}
	}
	url, token = strings.TrimSpace(url), strings.TrimSpace(token)
	if url == "" || token == "" {
		return "", "", usageErrorf("not logged in: run `keyward login --url URL` (profile %q) or set KEYWARD_URL and KEYWARD_TOKEN", a.profile)
	}
	return url, token, nil
}
