package data

import (
	"strings"
	"testing"
)

func TestParseIDX(t *testing.T) {
	good := idxFile([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	dims, v, err := parseIDX(good)
	if err != nil || len(dims) != 2 || dims[0] != 2 || dims[1] != 3 || string(v) != "\x01\x02\x03\x04\x05\x06" {
		t.Fatalf("parseIDX = %v, %v, %v", dims, v, err)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "expected an IDX header"},
		{"short", []byte{0, 0, 8}, "expected an IDX header"},
		{"bad magic", []byte{1, 0, 8, 1, 0, 0, 0, 0}, "expected an IDX file"},
		{"float type", []byte{0, 0, 0x0d, 1, 0, 0, 0, 0}, "expected 0x08"},
		{"no dims", []byte{0, 0, 8, 0}, "expected 1 to 4"},
		{"header cut", []byte{0, 0, 8, 2, 0, 0, 0, 1}, "truncated header"},
		{"values cut", good[:len(good)-1], "truncated"},
		{"trailing", append(good[:len(good):len(good)], 9), "expected none"},
		{"huge", idxFile([]int{1 << 30, 1 << 30, 1 << 30}, nil), "implausibly large"},
	} {
		_, _, err := parseIDX(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// FuzzIDX: the IDX reader never panics, and what it accepts is consistent.
// Run with go test -fuzz=FuzzIDX ./data.
func FuzzIDX(f *testing.F) {
	f.Add(idxFile([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(idxFile([]int{3}, []byte{7, 8, 9}))
	f.Add([]byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		dims, v, err := parseIDX(b)
		if err != nil {
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if len(v) != n || 4+4*len(dims)+n != len(b) {
			t.Fatalf("dims %v but %d values from %d bytes", dims, len(v), len(b))
		}
		// The MNIST reader on top must not panic either.
		_, _, _, _, _ = mnistSplit("i", "l", b, b)
	})
}
