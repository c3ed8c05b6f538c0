#!/usr/bin/env node
// The `maas` command. A committed shim (not dist/cli/main.js itself) so npm links the
// command at install time, before the workspace is built.
try {
  await import('../dist/cli/main.js');
} catch (err) {
  // In a checkout not built yet (npm install alone): say so, not a stack trace (a Windows path has backslashes).
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).replaceAll('\\', '/').includes('dist/cli/main.js')) {
    console.error('maas: the CLI is not built yet: run `npm run build` (or `npm start`) in the repository first');
    process.exit(1);
  }
  throw err;
}
