package nn

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Checkpoints are safetensors files (https://github.com/huggingface/safetensors):
// an 8-byte little-endian header length, a JSON header mapping tensor names
// to dtype, shape and byte offsets, then the raw little-endian data. Names
// are PyTorch's state-dict names, batch-norm running statistics and
// num_batches_tracked included, so `model.load_state_dict(load_file(p))`
// works in PyTorch. The model's Config is kept in the header's
// __metadata__ under "lethe.config".

const (
	metaConfig     = "lethe.config"
	maxHeaderBytes = 100 << 20
)

type stEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// Save writes m to path atomically (a temporary file renamed into place).
// meta adds string metadata to the header.
func (m *Model) Save(path string, meta map[string]string) error {
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return err
	}
	md := map[string]string{metaConfig: string(cfg)}
	for k, v := range meta {
		md[k] = v
	}
	type tensor struct {
		name  string
		dtype string
		shape []int
		data  []byte
	}
	var ts []tensor
	add := func(p *Param) {
		vals := ToHost(m.b, p.Value)
		buf := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		ts = append(ts, tensor{p.Name, "F32", p.Shape, buf})
	}
	for _, p := range m.Params {
		add(p)
	}
	for _, p := range m.State {
		add(p)
	}
	for _, bn := range m.bns {
		buf := make([]byte, 8)
		binary.LittleEndian.PutUint64(buf, uint64(bn.BatchesTracked))
		ts = append(ts, tensor{bn.Name + ".num_batches_tracked", "I64", []int{}, buf})
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	header := map[string]any{"__metadata__": md}
	var off int64
	for _, t := range ts {
		header[t.name] = stEntry{DType: t.dtype, Shape: t.shape, Offsets: [2]int64{off, off + int64(len(t.data))}}
		off += int64(len(t.data))
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return err
	}
	if pad := (8 - len(hj)%8) % 8; pad > 0 {
		hj = append(hj, []byte(strings.Repeat(" ", pad))...)
	}
	return WriteFileAtomic(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(hj)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(hj); err != nil {
			return err
		}
		for _, t := range ts {
			if _, err := w.Write(t.data); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteFileAtomic writes a file through fill into a temporary file in the
// same directory, syncs it and renames it over path, so readers see either
// the old file or the complete new one.
func WriteFileAtomic(path string, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = fill(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// ReadCheckpointConfig returns the model configuration stored in a
// checkpoint's metadata.
func ReadCheckpointConfig(path string) (Config, map[string]string, error) {
	var cfg Config
	_, meta, _, err := readSafetensorsHeader(path)
	if err != nil {
		return cfg, nil, err
	}
	raw, ok := meta[metaConfig]
	if !ok {
		return cfg, meta, fmt.Errorf("%s: no %q metadata; not a Lethe checkpoint (use Model.Load on a model you build)", path, metaConfig)
	}
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return cfg, meta, fmt.Errorf("%s: metadata %q: %v", path, metaConfig, err)
	}
	return cfg, meta, nil
}

// LoadModel builds the model a Lethe checkpoint describes on b and loads
// its tensors.
func LoadModel(b Backend, path string) (*Model, error) {
	cfg, _, err := ReadCheckpointConfig(path)
	if err != nil {
		return nil, err
	}
	m, err := New(b, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := m.Load(path); err != nil {
		m.Release()
		return nil, err
	}
	return m, nil
}

func readSafetensorsHeader(path string) (map[string]stEntry, map[string]string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, 0, err
	}
	var n [8]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return nil, nil, 0, fmt.Errorf("%s: not a safetensors file (shorter than its 8-byte header length)", path)
	}
	hl := binary.LittleEndian.Uint64(n[:])
	if hl > maxHeaderBytes || int64(hl) > st.Size()-8 {
		return nil, nil, 0, fmt.Errorf("%s: header length %d does not fit a %d-byte file; truncated or not a safetensors file", path, hl, st.Size())
	}
	hj := make([]byte, hl)
	if _, err := io.ReadFull(f, hj); err != nil {
		return nil, nil, 0, fmt.Errorf("%s: reading header: %v", path, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hj, &raw); err != nil {
		return nil, nil, 0, fmt.Errorf("%s: header is not valid JSON: %v", path, err)
	}
	entries := map[string]stEntry{}
	meta := map[string]string{}
	dataLen := st.Size() - 8 - int64(hl)
	for name, v := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(v, &meta); err != nil {
				return nil, nil, 0, fmt.Errorf("%s: __metadata__: %v", path, err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, nil, 0, fmt.Errorf("%s: tensor %s: %v", path, name, err)
		}
		if e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > dataLen {
			return nil, nil, 0, fmt.Errorf("%s: tensor %s: data offsets %v outside the %d data bytes; file truncated?", path, name, e.Offsets, dataLen)
		}
		entries[name] = e
	}
	return entries, meta, 8 + int64(hl), nil
}

// HostTensor is a tensor read from a file into host memory.
type HostTensor struct {
	Shape []int
	Data  []float32
}

// ReadTensors reads every tensor of a safetensors file (F32, F64 and I64
// are converted to float32) and its metadata.
func ReadTensors(path string) (map[string]HostTensor, map[string]string, error) {
	entries, meta, base, err := readSafetensorsHeader(path)
	if err != nil {
		return nil, nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]HostTensor, len(entries))
	for name, e := range entries {
		n := Numel(e.Shape)
		size := map[string]int{"F32": 4, "F64": 8, "I64": 8}[e.DType]
		if size == 0 {
			return nil, nil, fmt.Errorf("%s: tensor %s has dtype %s; Lethe reads F32, F64 and I64", path, name, e.DType)
		}
		if e.Offsets[1]-e.Offsets[0] != int64(n*size) {
			return nil, nil, fmt.Errorf("%s: tensor %s holds %d bytes, its shape %s needs %d", path, name, e.Offsets[1]-e.Offsets[0], ShapeString(e.Shape), n*size)
		}
		buf := raw[base+e.Offsets[0] : base+e.Offsets[1]]
		vals := make([]float32, n)
		for i := range vals {
			switch e.DType {
			case "F32":
				vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			case "F64":
				vals[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:])))
			case "I64":
				vals[i] = float32(int64(binary.LittleEndian.Uint64(buf[8*i:])))
			}
		}
		out[name] = HostTensor{Shape: e.Shape, Data: vals}
	}
	return out, meta, nil
}

// Load reads parameters and running statistics from a safetensors file
// into m. Every tensor of the model must be present with its exact shape;
// a missing, misshapen or unexpected tensor is an error naming it.
// num_batches_tracked may be absent (older PyTorch files).
func (m *Model) Load(path string) error {
	tensors, _, err := ReadTensors(path)
	if err != nil {
		return err
	}
	take := func(name string, shape []int) ([]float32, error) {
		t, ok := tensors[name]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %s is missing", path, name)
		}
		delete(tensors, name)
		if !equalInts(t.Shape, shape) {
			return nil, fmt.Errorf("%s: tensor %s has shape %s, the model expects %s", path, name, ShapeString(t.Shape), ShapeString(shape))
		}
		return t.Data, nil
	}
	values := make([]float32, m.values.Len())
	for _, p := range m.Params {
		v, err := take(p.Name, p.Shape)
		if err != nil {
			return err
		}
		copy(values[p.Offset:], v)
	}
	state := make([]float32, m.state.Len())
	for _, p := range m.State {
		v, err := take(p.Name, p.Shape)
		if err != nil {
			return err
		}
		copy(state[p.Offset:], v)
	}
	tracked := make([]int64, len(m.bns))
	for i, bn := range m.bns {
		name := bn.Name + ".num_batches_tracked"
		if _, ok := tensors[name]; !ok {
			continue
		}
		v, err := take(name, []int{})
		if err != nil {
			return err
		}
		tracked[i] = int64(v[0])
	}
	if len(tensors) > 0 {
		var extra []string
		for name := range tensors {
			extra = append(extra, name)
		}
		sort.Strings(extra)
		return fmt.Errorf("%s: unexpected tensors not in %s: %s", path, m.Config.Arch, strings.Join(extra, ", "))
	}
	for _, v := range values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return errors.New(path + ": checkpoint holds non-finite parameters")
		}
	}
	m.b.Upload(m.values, values)
	m.b.Upload(m.state, state)
	for i, bn := range m.bns {
		bn.BatchesTracked = tracked[i]
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
