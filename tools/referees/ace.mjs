// DAISY Ace over many EPUBs in one node process and one browser: ace-core with its puppeteer axe runner,
// pointed at Debian's chromium (the runner passes --no-sandbox itself, so it runs as root). Nothing is
// downloaded. Usage: node ace.mjs jobs.json result.json, jobs = [[epub, report dir], ...];
// result = {epub: Ace's report.json, or {"error": message}}.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
process.env.PUPPETEER_EXECUTABLE_PATH ||= "/usr/bin/chromium";
const winston = require("winston");
const ace = require("@daisy/ace-core");
const runner = require("@daisy/ace-axe-runner-puppeteer");

winston.configure({ transports: [new winston.transports.Console({ silent: true })] });
// Ace launches and closes the browser around every EPUB; launch it once for the whole run instead.
let launched = false;
const sharedRunner = Object.assign(Object.create(runner), {
  launch: async () => { if (!launched) { launched = true; await runner.launch(); } },
  close: async () => {},
});

const [jobsFile, resultFile] = process.argv.slice(2);
const reports = {};
for (const [epub, outdir] of JSON.parse(readFileSync(jobsFile, "utf8"))) {
  try {
    const [, report] = await ace(epub, { cwd: process.cwd(), outdir, silent: true, jobId: "" }, sharedRunner);
    reports[epub] = report;
  } catch (err) {
    reports[epub] = { error: String(err?.message ?? err) };
  }
}
if (launched) await runner.close();
writeFileSync(resultFile, JSON.stringify(reports));
