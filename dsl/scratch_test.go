package dsl

import (
	"os"
	"testing"
)

func TestScratch(t *testing.T) {
	exp, diags := Load([]string{os.Getenv("SPEC")}, nil, nil)
	WriteDiagnostics(os.Stdout, exp.Files, diags, 100, false)
	if exp != nil {
		exp.WriteText(os.Stdout, os.Getenv("PARAMS") != "")
	}
}
