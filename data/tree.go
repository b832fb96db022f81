package data

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// tree is the set of files under a dataset path: a directory walked on disk
// or a tar archive (plain or gzipped) read once into memory. Formats look
// their files up by slash-separated names relative to the tree's root, so
// they read a directory and an archive of it alike.
type tree struct {
	path    string           // as the user gave it
	archive bool             // a tar file rather than a directory
	files   map[string]*file // regular files by cleaned name
	dirs    map[string]bool  // every directory, listed or implied by a file
	digest  string           // source digest, see sourceDigest
	skipped []string         // entries ignored (hidden files, links, ...), for warnings
}

// file is one regular file of a tree.
type file struct {
	name   string // relative, slash-separated
	size   int64
	data   []byte // archive member contents
	osPath string // directory mode: where to read it
}

// read returns the file's bytes.
func (f *file) read() ([]byte, error) {
	if f.osPath == "" {
		return f.data, nil
	}
	b, err := os.ReadFile(f.osPath)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != f.size {
		return nil, fmt.Errorf("size changed while reading (%d bytes, listed as %d)", len(b), f.size)
	}
	return b, nil
}

// maxMember bounds one archive member, so a corrupt header cannot make
// the reader allocate without limit.
const maxMember = 1 << 30

// hiddenName reports names that are not data: dot files (including macOS
// "._x" AppleDouble companions) and __MACOSX folders.
func hiddenName(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") || part == "__MACOSX" {
			return true
		}
	}
	return false
}

// openTree lists the directory or reads the tar archive at p.
func openTree(p string) (*tree, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, &Error{File: p, Msg: "cannot open dataset path", Err: err}
	}
	if st.IsDir() {
		return walkDir(p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, &Error{File: p, Msg: "cannot open dataset path", Err: err}
	}
	defer f.Close()
	h := sha256.New()
	t, err := readTar(p, io.TeeReader(f, h))
	if err != nil {
		return nil, err
	}
	// The tar reader stops at the end-of-archive marker; hash the rest so
	// the digest covers the whole file, as sourceDigest does.
	if _, err := io.Copy(h, f); err != nil {
		return nil, &Error{File: p, Msg: "read error", Err: err}
	}
	t.digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return t, nil
}

// decompress returns a reader of r's contents, gunzipping them when they
// start with the gzip magic bytes.
func decompress(r io.Reader) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, false, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, true, err
		}
		z.Multistream(true)
		return z, true, nil
	}
	return br, false, nil
}

// cleanName turns an archive or directory name into the tree's form, or
// reports it as unsafe.
func cleanName(name string) (string, bool) {
	name = strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(name, "\\", "/")), "/")
	if name == "" || name == "." {
		return "", false
	}
	return name, true
}

func readTar(p string, r io.Reader) (*tree, error) {
	t := &tree{path: p, archive: true, files: map[string]*file{}, dirs: map[string]bool{"": true}}
	zr, gz, err := decompress(r)
	if err != nil {
		return nil, &Error{File: p, Msg: "not a tar or .tar.gz archive (bad gzip header)", Err: err}
	}
	tr := tar.NewReader(zr)
	last := "" // the last good entry, to locate truncation
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if n == 0 && err != nil {
			what := "not a directory, tar or .tar.gz archive with entries"
			if gz {
				what = "a gzip file that holds no tar archive: expected a directory or a .tar.gz of the dataset (give the folder that holds this file)"
			}
			if err == io.EOF {
				err = nil
			}
			return nil, &Error{File: p, Msg: what, Err: err}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			where := "at the start"
			if last != "" {
				where = "after entry " + last
			}
			return nil, &Error{File: p, Msg: "truncated or corrupt archive " + where, Err: err}
		}
		name, ok := cleanName(hdr.Name)
		if !ok {
			continue
		}
		if hiddenName(name) {
			t.skipped = append(t.skipped, name)
			if hdr.Typeflag == tar.TypeReg {
				last = name
			}
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			t.addDir(name)
		case tar.TypeReg: // the reader reports old-style TypeRegA entries as TypeReg
			if hdr.Size < 0 || hdr.Size > maxMember {
				return nil, errorf(p, name, "member of %d bytes: expected at most %d", hdr.Size, maxMember)
			}
			buf := make([]byte, hdr.Size)
			if _, err := io.ReadFull(tr, buf); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return nil, &Error{File: p, Entry: name, Msg: fmt.Sprintf("truncated archive member (expected %d bytes)", hdr.Size), Err: err}
			}
			if _, dup := t.files[name]; dup {
				return nil, errorf(p, name, "appears twice in the archive")
			}
			t.files[name] = &file{name: name, size: hdr.Size, data: buf}
			t.addDir(path.Dir(name))
			last = name
		default:
			t.skipped = append(t.skipped, name+" (not a regular file)")
		}
	}
	// Drain the compressed stream so a truncated gzip trailer is noticed.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, &Error{File: p, Msg: "truncated or corrupt archive after its last entry", Err: err}
	}
	return t, nil
}

func (t *tree) addDir(d string) {
	for d != "." && d != "" && !t.dirs[d] {
		t.dirs[d] = true
		d = path.Dir(d)
	}
}

func walkDir(root string) (*tree, error) {
	t := &tree{path: root, files: map[string]*file{}, dirs: map[string]bool{"": true}}
	type stamp struct {
		name        string
		size, mtime int64
	}
	var stamps []stamp
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name, ok := cleanName(filepath.ToSlash(rel))
		if !ok {
			return nil // the root itself
		}
		if hiddenName(name) {
			t.skipped = append(t.skipped, name)
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			t.addDir(name)
			return nil
		}
		if !d.Type().IsRegular() {
			// Follow symbolic links to files; skip anything else.
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				t.skipped = append(t.skipped, name+" (not a regular file)")
				return nil
			}
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		t.files[name] = &file{name: name, size: st.Size(), osPath: p}
		stamps = append(stamps, stamp{name, st.Size(), st.ModTime().UnixNano()})
		return nil
	})
	if err != nil {
		return nil, &Error{File: root, Msg: "cannot list directory", Err: err}
	}
	sort.Slice(stamps, func(i, j int) bool { return stamps[i].name < stamps[j].name })
	h := sha256.New()
	fmt.Fprintf(h, "lethe-dir-v1\n")
	for _, s := range stamps {
		fmt.Fprintf(h, "%q %d %d\n", s.name, s.size, s.mtime)
	}
	t.digest = "dir-sha256:" + hex.EncodeToString(h.Sum(nil))
	return t, nil
}

// sourceDigest is the digest openTree computes, without reading the
// contents into memory: sha256 of an archive's bytes, or for a directory
// sha256 of its listing (names, sizes, modification times), which is cheap
// and changes whenever a file is added, removed or rewritten.
func sourceDigest(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", &Error{File: p, Msg: "cannot open dataset path", Err: err}
	}
	if st.IsDir() {
		t, err := walkDir(p)
		if err != nil {
			return "", err
		}
		return t.digest, nil
	}
	return fileDigest(p, sha256.New())
}

func fileDigest(p string, h hash.Hash) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", &Error{File: p, Msg: "cannot open", Err: err}
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", &Error{File: p, Msg: "read error", Err: err}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// subdirs lists the immediate subdirectories of dir ("" is the root), sorted.
func (t *tree) subdirs(dir string) []string {
	var out []string
	for d := range t.dirs {
		if d != "" && path.Dir(d) == orDot(dir) {
			out = append(out, path.Base(d))
		}
	}
	sort.Strings(out)
	return out
}

// filesUnder lists the files below dir at any depth, sorted by name.
func (t *tree) filesUnder(dir string) []*file {
	prefix := dir + "/"
	var out []*file
	for name, f := range t.files {
		if strings.HasPrefix(name, prefix) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// find returns the shallowest files whose base name is one of names,
// sorted by name.
func (t *tree) find(names ...string) []*file {
	var out []*file
	best := -1
	for name, f := range t.files {
		base := path.Base(name)
		match := false
		for _, n := range names {
			if base == n {
				match = true
			}
		}
		if !match {
			continue
		}
		depth := strings.Count(name, "/")
		if best < 0 || depth < best {
			best, out = depth, out[:0]
		}
		if depth == best {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// join joins a root-relative directory and a name.
func join(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	return dir + "/" + name
}

func orDot(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// describe names the tree for messages: "archive X" or "directory X".
func (t *tree) describe() string {
	if t.archive {
		return "archive"
	}
	return "directory"
}

// readAll reads a file of the tree, gunzipping it if it is compressed.
func (t *tree) readAll(f *file) ([]byte, error) {
	raw, err := f.read()
	if err != nil {
		return nil, &Error{File: t.path, Entry: f.name, Msg: "read error", Err: err}
	}
	return gunzipBytes(t.path, f.name, raw)
}

// gunzipBytes returns raw, or its decompressed contents when it is gzip.
func gunzipBytes(file, entry string, raw []byte) ([]byte, error) {
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		return raw, nil
	}
	z, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, &Error{File: file, Entry: entry, Msg: "corrupt gzip header", Err: err}
	}
	out, err := io.ReadAll(z)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, &Error{File: file, Entry: entry, Msg: "truncated or corrupt gzip data", Err: err}
	}
	return out, nil
}
