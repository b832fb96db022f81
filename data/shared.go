package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// DataEnv names the environment variable that overrides where the shared
// datasets are (by default ../shared/data beside the repository root).
const DataEnv = "LETHE_DATA"

// SharedDir returns the directory of the project's shared datasets:
// $LETHE_DATA if set, else ../shared/data relative to the repository root,
// the nearest directory at or above the working directory holding go.mod.
// It reports an error when that directory does not exist; tests skip then.
func SharedDir() (string, error) {
	if d := os.Getenv(DataEnv); d != "" {
		if !isDir(d) {
			return "", fmt.Errorf("data: $%s = %s is not a directory", DataEnv, d)
		}
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "data")
			if !isDir(d) {
				return "", fmt.Errorf("data: no shared data at %s (set $%s)", d, DataEnv)
			}
			return d, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("data: no go.mod above the working directory, so no ../shared/data (set $%s)", DataEnv)
		}
		dir = parent
	}
}
