// Command-line parsing shared by the interop harnesses: `COMMAND --name value ...`.
// A flag without a value, or a stray word, prints `usageText` and exits 2.

export function usage(usageText) {
  process.stderr.write(usageText);
  process.exit(2);
}

export function parseArgs(argv, usageText) {
  const [command, ...rest] = argv;
  const opts = {};
  for (let i = 0; i < rest.length; i += 2) {
    if (!rest[i].startsWith('--') || rest[i + 1] === undefined) usage(usageText);
    opts[rest[i].slice(2)] = rest[i + 1];
  }
  return { command, opts };
}
