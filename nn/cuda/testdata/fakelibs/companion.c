/* companion.c and needscompanion.c test that a library whose dependency
 * lives in a directory the loader does not search can be loaded once the
 * dependency was loaded first by full path (cuDNN's sub-libraries,
 * cublasLt). */
int lethe_companion_value(void) { return 42; }
