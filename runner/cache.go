package runner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"lethe/nn"
	"lethe/tracking"
)

// Cache is the content-addressed store of stage results:
//
//	<store>/cache/<key>/            one finished stage's artifacts and manifest.json
//	<store>/cache/.tmp/<key>.<pid>.<random>/   a stage being computed
//	<store>/cache/.locks/<key>      held (flock) by the process computing <key>
//
// A stage writes into a temporary directory which is renamed into place
// only when the stage has succeeded and its manifest (every file with its
// size and sha256) is written, so an entry is complete or absent, whatever
// happens to the process. Entries are checked against their manifest (and
// the checksums tracking recorded) before they are reused.
type Cache struct {
	dir string
}

// ManifestFile lists an entry's files; it is written last.
const ManifestFile = "manifest.json"

// Manifest describes a cache entry.
type Manifest struct {
	Key     string          `json:"key"`
	Address string          `json:"address"` // the stage that made it
	Kind    string          `json:"kind"`
	Created time.Time       `json:"created"`
	Files   []ManifestEntry `json:"files"`
}

// ManifestEntry is one artifact of an entry.
type ManifestEntry struct {
	Path   string `json:"path"` // relative to the entry, with forward slashes
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// OpenCache opens (creating if needed) the cache of a store directory.
func OpenCache(storeDir string) (*Cache, error) {
	c := &Cache{dir: filepath.Join(storeDir, "cache")}
	for _, d := range []string{c.dir, c.tmpDir(), c.lockDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	return c, nil
}

// Dir is the cache directory.
func (c *Cache) Dir() string { return c.dir }

// Entry is the directory of key's entry.
func (c *Cache) Entry(key string) string { return filepath.Join(c.dir, key) }

func (c *Cache) tmpDir() string  { return filepath.Join(c.dir, ".tmp") }
func (c *Cache) lockDir() string { return filepath.Join(c.dir, ".locks") }

// entryState is what Check found.
type entryState int

const (
	entryMissing entryState = iota
	entryValid
	entryCorrupt
)

// check verifies key's entry against its manifest and, when recorded is
// not empty, against the checksums tracking recorded for its artifacts
// (paths relative to the store). It returns why an entry is unusable.
func (c *Cache) check(key string, recorded []tracking.Artifact) (entryState, string) {
	dir := c.Entry(key)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return entryMissing, "no cache entry"
	}
	m, err := readManifest(dir)
	if err != nil {
		return entryCorrupt, err.Error()
	}
	if m.Key != key {
		return entryCorrupt, fmt.Sprintf("%s names key %s", ManifestFile, m.Key)
	}
	byName := map[string]ManifestEntry{}
	for _, f := range m.Files {
		byName[f.Path] = f
		sum, n, err := hashFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return entryCorrupt, f.Path + " is missing"
		case err != nil:
			return entryCorrupt, f.Path + ": " + err.Error()
		case n != f.Bytes:
			return entryCorrupt, fmt.Sprintf("%s has %d bytes, its manifest says %d", f.Path, n, f.Bytes)
		case sum != f.SHA256:
			return entryCorrupt, f.Path + ": checksum mismatch"
		}
	}
	prefix := "cache/" + key + "/"
	for _, a := range recorded {
		name, ok := strings.CutPrefix(filepath.ToSlash(a.Path), prefix)
		if !ok {
			continue
		}
		f, ok := byName[name]
		switch {
		case !ok:
			return entryCorrupt, name + " is recorded but not in the manifest"
		case f.SHA256 != a.SHA256:
			return entryCorrupt, name + ": checksum differs from the one recorded when it was made"
		}
	}
	return entryValid, ""
}

func readManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("%s is missing", ManifestFile)
		}
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s is unreadable: %v", ManifestFile, err)
	}
	return m, nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// NewTemp makes the temporary directory a stage computing key writes to.
// Its name carries this process's pid, so that a later run can tell the
// leftovers of a dead process from a live one's work.
func (c *Cache) NewTemp(key string) (string, error) {
	var r [4]byte
	rand.Read(r[:])
	dir := filepath.Join(c.tmpDir(), fmt.Sprintf("%s.%d.%s", key, os.Getpid(), hex.EncodeToString(r[:])))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	return dir, nil
}

// Seal lists the files of a finished temporary directory with their
// checksums and writes its manifest.
func (c *Cache) Seal(tmp, key, address, kind string) (Manifest, error) {
	m := Manifest{Key: key, Address: address, Kind: kind, Created: time.Now().UTC()}
	err := filepath.WalkDir(tmp, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(tmp, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ManifestFile || strings.HasPrefix(d.Name(), ".") {
			// Hidden files are leftovers of atomic writes, not artifacts.
			return os.Remove(path)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("artifact %s is not a regular file", rel)
		}
		sum, n, err := hashFile(path)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, ManifestEntry{Path: rel, SHA256: sum, Bytes: n})
		return nil
	})
	if err != nil {
		return m, fmt.Errorf("cache: sealing %s: %w", address, err)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	err = nn.WriteFileAtomic(filepath.Join(tmp, ManifestFile), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	return m, err
}

// Commit renames a sealed temporary directory into key's entry, replacing
// an entry that is already there (a forced re-run, or a corrupted entry).
func (c *Cache) Commit(tmp, key string) error {
	dst := c.Entry(key)
	err := os.Rename(tmp, dst)
	if err == nil {
		return syncDir(c.dir)
	}
	if _, statErr := os.Stat(dst); statErr != nil {
		return fmt.Errorf("cache: %w", err)
	}
	old := tmp + ".old"
	if err := os.Rename(dst, old); err != nil {
		return fmt.Errorf("cache: moving the old entry aside: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Rename(old, dst)
		return fmt.Errorf("cache: %w", err)
	}
	os.RemoveAll(old)
	return syncDir(c.dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("cache: sync %s: %w", dir, err)
	}
	return nil
}

// CleanTemps removes temporary directories whose process has ended (a
// run that was killed) and returns how many it removed.
func (c *Cache) CleanTemps() int {
	entries, err := os.ReadDir(c.tmpDir())
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if pid := tempOwner(e.Name()); pid > 0 && !processAlive(pid) {
			if os.RemoveAll(filepath.Join(c.tmpDir(), e.Name())) == nil {
				n++
			}
		}
	}
	return n
}

// tempOwner reads the pid from a temporary directory's name
// (<key>.<pid>.<random>[.old]); 0 if it has none.
func tempOwner(name string) int {
	parts := strings.Split(name, ".")
	if len(parts) < 3 {
		return 0
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0
	}
	return pid
}

// Keys lists the keys of the cache's entries.
func (c *Cache) Keys() ([]string, error) {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	var keys []string
	for _, e := range entries {
		if e.IsDir() && tracking.IsSHA256Hex(e.Name()) {
			keys = append(keys, e.Name())
		}
	}
	return keys, nil
}

// Lock takes the lock of key, waiting (until ctx ends) while another
// process holds it, so that two runs on one store never compute the same
// stage at once: the second finds the first's result. The lock is the
// kernel's (flock), so a killed process never leaves it held.
func (c *Cache) Lock(ctx context.Context, key string) (unlock func(), err error) {
	path := filepath.Join(c.lockDir(), key)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cache: lock %s: %w", key, err)
	}
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("cache: lock %s: %w", key, err)
		}
		if ok {
			return func() { unlockFile(f); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Remove deletes key's entry (and its lock file, when no process holds
// it), returning the bytes freed.
func (c *Cache) Remove(key string) (int64, error) {
	dir := c.Entry(key)
	size := dirSize(dir)
	tmp := filepath.Join(c.tmpDir(), fmt.Sprintf("%s.%d.gc", key, os.Getpid()))
	// Rename first: a reader never sees half an entry.
	if err := os.Rename(dir, tmp); err != nil {
		return 0, fmt.Errorf("cache: remove %s: %w", key, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return 0, fmt.Errorf("cache: remove %s: %w", key, err)
	}
	if f, err := os.OpenFile(filepath.Join(c.lockDir(), key), os.O_RDWR, 0); err == nil {
		if ok, _ := tryLock(f); ok {
			os.Remove(f.Name())
			unlockFile(f)
		}
		f.Close()
	}
	return size, nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// Verify checks key's cache entry as a plan does before reusing it:
// against its manifest and the checksums its producing run recorded.
func Verify(store *tracking.Store, cache *Cache, key string) (ok bool, problem string) {
	state, problem, _, err := checkEntry(cache, store, key)
	if err != nil {
		return false, err.Error()
	}
	return state == entryValid, problem
}
