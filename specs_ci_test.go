package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lethe/data"
)

// TestShippedSpecsRunAtCIScale runs every experiments/*.hcl at CI scale
// (the quickstart at its defaults) in one store, the way a user would,
// and checks each report: every expected result is there (no cell short of
// results, so no stage failed), values are finite and accuracies are
// fractions. The specs share their trained models through the cache.
func TestShippedSpecsRunAtCIScale(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every shipped spec at CI scale (minutes)")
	}
	specs, err := filepath.Glob(filepath.Join("experiments", "*.hcl"))
	if err != nil || len(specs) == 0 {
		t.Fatalf("no specs: %v", err)
	}
	store := t.TempDir()
	_, sharedErr := data.SharedDir()
	for _, spec := range specs {
		name := strings.TrimSuffix(filepath.Base(spec), ".hcl")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(spec)
			if err != nil {
				t.Fatal(err)
			}
			var vars []string
			if strings.Contains(string(raw), `variable "scale"`) {
				vars = []string{"-var", "scale=ci"}
				if sharedErr != nil {
					t.Skipf("needs ../shared/data (CIFAR-10) at CI scale: %v", sharedErr)
				}
			}
			args := append([]string{"run", spec, "--store", store, "--jobs", "2"}, vars...)
			if out, err := runCLICombined(t, args...); err != nil {
				t.Fatalf("lethe %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			args = append([]string{"report", spec, "--store", store, "--format", "json"}, vars...)
			out, _, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("lethe %s: %v", strings.Join(args, " "), err)
			}
			checkReportJSON(t, out)
		})
	}
}

func checkReportJSON(t *testing.T, out string) {
	t.Helper()
	var doc struct {
		Reports []struct {
			Name  string `json:"name"`
			Cells []struct {
				Row      map[string]string `json:"row"`
				Column   map[string]string `json:"column"`
				Metric   string            `json:"metric"`
				Values   []float64         `json:"values"`
				Expected int               `json:"expected"`
			} `json:"cells"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, out)
	}
	if len(doc.Reports) == 0 {
		t.Fatal("the spec produced no report")
	}
	for _, r := range doc.Reports {
		filled := 0
		for _, c := range r.Cells {
			if len(c.Values) != c.Expected {
				t.Errorf("%s: cell %v %v %s has %d of %d results", r.Name, c.Row, c.Column, c.Metric, len(c.Values), c.Expected)
			}
			for _, v := range c.Values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s: cell %v %v %s holds %v", r.Name, c.Row, c.Column, c.Metric, v)
				}
				if strings.HasPrefix(c.Metric, "acc") && (v < 0 || v > 1) {
					t.Errorf("%s: accuracy %v outside [0, 1] in %v %v", r.Name, v, c.Row, c.Column)
				}
			}
			filled += len(c.Values)
		}
		if filled == 0 {
			t.Errorf("%s: no cell has a result", r.Name)
		}
	}
}
