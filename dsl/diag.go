package dsl

import (
	"io"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diagnostics as hcl does: file:line:col, the
// source lines with the fault underlined, and the detail with its
// suggestion. files is Experiment.Files; width wraps the text (0: no
// wrapping); color adds terminal colours.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, width uint, color bool) error {
	if len(diags) == 0 {
		return nil
	}
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
}
