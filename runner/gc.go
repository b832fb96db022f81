package runner

import (
	"sort"
)

// GCResult is what a garbage collection of the cache did (or, dry, would
// do).
type GCResult struct {
	Removed []string // keys of the entries removed
	Bytes   int64    // bytes they held
	Kept    int      // entries kept
	Temps   int      // leftover temporary directories of dead processes removed
}

// GC removes every cache entry whose key is not in keep. With dryRun it
// only reports what it would remove.
func GC(cache *Cache, keep map[string]bool, dryRun bool) (GCResult, error) {
	var res GCResult
	if !dryRun {
		res.Temps = cache.CleanTemps()
	}
	keys, err := cache.Keys()
	if err != nil {
		return res, err
	}
	sort.Strings(keys)
	for _, k := range keys {
		if keep[k] {
			res.Kept++
			continue
		}
		if dryRun {
			res.Bytes += dirSize(cache.Entry(k))
			res.Removed = append(res.Removed, k)
			continue
		}
		n, err := cache.Remove(k)
		if err != nil {
			return res, err
		}
		res.Bytes += n
		res.Removed = append(res.Removed, k)
	}
	return res, nil
}

// Keys lists the keys a plan's stages would use.
func (p *Plan) Keys() []string {
	keys := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		keys[i] = s.Key
	}
	return keys
}
