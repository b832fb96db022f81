// Package runner executes experiments: it plans the expanded stages of a
// spec against a content-addressed cache, runs what is missing as a DAG on
// parallel workers, and records every run in the tracking store.
//
// Plan (NewPlan) prepares each stage (package stages), computes its cache
// key — sha256 over the stage kind, its canonical parameters, its inputs'
// keys, the data's digest and the engine's numerics version; never the
// device or the job count — and checks the cache: a stage is cached when
// its entry exists and every artifact matches the checksums of its
// manifest and of the run that made it. Otherwise the plan says why it
// runs: new; parameter X changed from A to B (file:line); upstream
// changed; dataset content changed; forced; artifact corrupted.
//
// Run executes a plan. Stages start as soon as their inputs are done, on
// Options.Jobs CPU workers (each with its share of the cores) or one
// worker per GPU. A failure stops the stages that need it, and without
// KeepGoing every stage not yet started; inputs a stage can do without
// (a report's evaluations, an evaluation's retrained reference) are
// passed as missing instead, and the result's key then records what was
// missing, so a complete result later never collides with it. A stage
// writes into a temporary directory that is sealed (manifest with
// checksums), recorded and renamed into <store>/cache/<key>/, so a killed
// process leaves complete entries or none; a per-key lock (flock) keeps
// two processes from computing one stage twice. Cancelling the context
// marks running stages KILLED and removes their partial artifacts.
package runner
