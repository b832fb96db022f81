int lethe_companion_value(void);
int lethe_main_value(void) { return lethe_companion_value() + 1; }
