package runner

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sort"

	"lethe/stages"
)

// keyVersion changes when the key's own layout changes.
const keyVersion = "lethe-cache-key-v1"

// inputKey is one upstream stage's part of a key.
type inputKey struct {
	Param string
	Key   string
}

// stageKey is the content address of a stage's result: sha256 over the
// key layout's version, the engine's numerics version, the stage kind, its
// material (canonical parameters, the data digest of a dataset) and its
// inputs' keys with the parameter each came through. Device, job count and
// every other resource setting are left out: they do not change results.
func stageKey(kind string, material []byte, inputs []inputKey) string {
	h := sha256.New()
	field(h, keyVersion)
	field(h, stages.NumericsVersion)
	field(h, kind)
	field(h, string(material))
	for _, in := range inputs {
		field(h, in.Param)
		field(h, in.Key)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// partialKey is the key of a stage that ran without some optional inputs
// (they failed): a result made without them must not pass for the complete
// one once they exist.
func partialKey(key string, missing []string) string {
	m := append([]string(nil), missing...)
	sort.Strings(m)
	h := sha256.New()
	field(h, keyVersion+"/partial")
	field(h, key)
	for _, k := range m {
		field(h, k)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// field writes a length-prefixed string, so that no two field lists hash
// alike.
func field(h hash.Hash, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
