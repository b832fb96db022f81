package reports

import (
	"strings"
)

// Direction says which way a metric improves.
type Direction int

// The directions. Neutral metrics (per-class accuracies, whose meaning
// depends on the class) never get a best value.
const (
	Neutral Direction = iota
	LowerIsBetter
	HigherIsBetter
)

// Arrow is the direction's mark in a heading: ↓, ↑ or nothing.
func (d Direction) Arrow() string {
	switch d {
	case LowerIsBetter:
		return "↓"
	case HigherIsBetter:
		return "↑"
	}
	return ""
}

func (d Direction) String() string {
	switch d {
	case LowerIsBetter:
		return "lower"
	case HigherIsBetter:
		return "higher"
	}
	return "neutral"
}

// MarshalText writes the direction as lower, higher or neutral.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// metricInfo is how a metric is shown: a short heading, the factor that
// turns its stored value (a fraction, seconds, nats) into the shown one,
// and which way it improves after unlearning.
type metricInfo struct {
	heading string
	scale   float64
	dir     Direction
}

// knownMetrics are the metrics of METHODS.md. The directions are those of
// an unlearned model: the forgotten classes' accuracy and the attack's
// success should fall, the retained accuracy stay high, the divergence
// from the retrained model vanish, ZRF (1 − JS to a random model) rise.
var knownMetrics = map[string]metricInfo{
	"acc_forget":       {"Acc_f (%)", 100, LowerIsBetter},
	"acc_retain":       {"Acc_r (%)", 100, HigherIsBetter},
	"acc_forget_train": {"Acc_f train (%)", 100, LowerIsBetter},
	"acc_retain_train": {"Acc_r train (%)", 100, HigherIsBetter},
	"mia":              {"MIA (%)", 100, LowerIsBetter},
	"mia_logreg":       {"MIA logreg (%)", 100, LowerIsBetter},
	"js_retrain":       {"JS to retrain", 1, LowerIsBetter},
	"zrf":              {"ZRF", 1, HigherIsBetter},
	"time":             {"time (s)", 1, LowerIsBetter},
	"time_finetune":    {"fine-tune time (s)", 1, LowerIsBetter},
}

// Heading is how a metric is titled in a table, with its unit.
func Heading(metric string) string {
	if m, ok := knownMetrics[metric]; ok {
		return m.heading
	}
	if c, ok := strings.CutPrefix(metric, "acc_class_"); ok {
		return "Acc class " + c + " (%)"
	}
	return metric
}

// Scale is the factor between a metric's stored and shown values (100 for
// fractions shown in percent).
func Scale(metric string) float64 {
	if m, ok := knownMetrics[metric]; ok {
		return m.scale
	}
	if strings.HasPrefix(metric, "acc_class_") {
		return 100
	}
	return 1
}

// MetricDirection is which way metric improves; Neutral for metrics
// without one.
func MetricDirection(metric string) Direction {
	return knownMetrics[metric].dir
}

// headingWithArrow is the heading followed by the direction's arrow when
// arrow is set.
func headingWithArrow(metric string, arrow bool) string {
	if a := MetricDirection(metric).Arrow(); a != "" && arrow {
		return Heading(metric) + " " + a
	}
	return Heading(metric)
}
