package data

import (
	"errors"
	"fmt"
)

// Error reports bad input: the file (a path as the user gave it), the entry
// inside it when the file is a directory or archive, and what was wrong or
// expected. Every error of this package about the data itself is an *Error,
// so a caller can tell bad data from, say, a cancelled context.
type Error struct {
	File  string // the path the user gave, or the file it led to
	Entry string // a path inside File (archive member, file under a directory); may be empty
	Msg   string // what was wrong, and what was expected
	Err   error  // the underlying error, if any
}

func (e *Error) Error() string {
	s := "data: " + e.File
	if e.Entry != "" {
		s += ": " + e.Entry
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// errorf builds an *Error with a formatted message.
func errorf(file, entry, format string, args ...any) *Error {
	return &Error{File: file, Entry: entry, Msg: fmt.Sprintf(format, args...)}
}

// wrapErr builds an *Error around an underlying error, unless err already
// is one (then it is returned unchanged: the innermost names the culprit).
func wrapErr(file, entry, msg string, err error) error {
	var de *Error
	if errors.As(err, &de) {
		return err
	}
	return &Error{File: file, Entry: entry, Msg: msg, Err: err}
}
