package data

import (
	"encoding/binary"
	"fmt"
)

// parseIDX parses an IDX file of unsigned bytes (the format of MNIST's
// files: two zero bytes, element type 0x08, the number of dimensions, the
// dimensions as big-endian uint32, then the values). It returns the
// dimensions and the values, which alias b.
func parseIDX(b []byte) (dims []int, values []byte, err error) {
	if len(b) < 4 {
		return nil, nil, fmt.Errorf("%d bytes: expected an IDX header of at least 4 bytes", len(b))
	}
	if b[0] != 0 || b[1] != 0 {
		return nil, nil, fmt.Errorf("magic % x: expected an IDX file (starting 00 00)", b[:4])
	}
	if b[2] != 0x08 {
		return nil, nil, fmt.Errorf("element type 0x%02x: expected 0x08 (unsigned byte)", b[2])
	}
	nd := int(b[3])
	if nd < 1 || nd > 4 {
		return nil, nil, fmt.Errorf("%d dimensions: expected 1 to 4", nd)
	}
	head := 4 + 4*nd
	if len(b) < head {
		return nil, nil, fmt.Errorf("truncated header: %d bytes, expected %d for %d dimensions", len(b), head, nd)
	}
	total := int64(1)
	dims = make([]int, nd)
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(b[4+4*i:]))
		dims[i] = int(d)
		total *= d
		if total > 1<<40 {
			return nil, nil, fmt.Errorf("dimensions %v: implausibly large", dims[:i+1])
		}
	}
	have := int64(len(b) - head)
	if have < total {
		return nil, nil, fmt.Errorf("truncated: dimensions %v need %d bytes of values, the file has %d", dims, total, have)
	}
	if have > total {
		return nil, nil, fmt.Errorf("%d bytes after the %d values that dimensions %v describe: expected none", have-total, total, dims)
	}
	return dims, b[head:], nil
}
