// Package dsl turns HCL experiment specs into a fully expanded, typed graph
// of stage instances.
//
// A spec declares an experiment, its variables and locals, and blocks of
// five stage kinds (dataset, train, unlearn, evaluate, report). Load parses
// one or more files (or directories of *.hcl files), resolves variables
// (defaults, -var values, -var files), evaluates every expression with
// go-cty's standard functions, builds the block graph from the references
// in the expressions, and expands sweeps (grid and zip), list-valued
// parameters (fan-out) and the experiment's seeds into stage instances.
// Every instance carries concrete parameters with all defaults filled in,
// the source range each one came from, its dependencies and a stable,
// readable address such as
//
//	unlearn.osp[model=ortho,ratio=0.02,strength=0.4,seed=1]
//
// The parameter tables live in schema.go (stage kinds) and methods.go
// (unlearning methods, the single source of truth for their defaults).
//
// dsl knows nothing of the engine, datasets or the runner: it only checks
// what a spec can state, and reports what is wrong with hcl diagnostics
// that name file:line:col, show the source and suggest a fix.
package dsl
