#!/usr/bin/env node
// The `maas` command. A committed shim (not dist/cli/main.js itself) so npm links the
// command at install time, before the workspace is built.
import '../dist/cli/main.js';
