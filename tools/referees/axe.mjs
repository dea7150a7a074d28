// axe-core over many HTML pages in one headless Debian chromium (puppeteer-core, nothing downloaded), each page
// at a phone and a desktop width. Usage: node axe.mjs jobs.json result.json, jobs = {"files": [...],
// "widths": [390, 1280], "tags": [...]}; result = {file: {width: [axe violation, ...]} or {"error": msg}}.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const puppeteer = require("puppeteer-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const [jobsFile, resultFile] = process.argv.slice(2);
const { files, widths, tags } = JSON.parse(readFileSync(jobsFile, "utf8"));
const browser = await puppeteer.launch({
  executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
  headless: true,
});
const result = {};
try {
  const page = await browser.newPage();
  // Only the page's own files: anything from the network is refused, so a run never depends on it.
  await page.setRequestInterception(true);
  page.on("request", (request) => (request.url().startsWith("file:") || request.url().startsWith("data:")
    ? request.continue() : request.abort()));
  for (const file of files) {
    result[file] = {};
    for (const width of widths) {
      try {
        await page.setViewport({ width, height: 900 });
        await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
        await page.evaluate(axeSource);
        const found = await page.evaluate(
          (runTags) => window.axe.run(document, { runOnly: { type: "tag", values: runTags }, resultTypes: ["violations"] }),
          tags);
        result[file][width] = found.violations.map((v) => ({
          id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, html: n.html,
            summary: n.failureSummary })),
        }));
      } catch (err) {
        result[file] = { error: String(err?.message ?? err) };
        break;
      }
    }
  }
} finally {
  await browser.close();
}
writeFileSync(resultFile, JSON.stringify(result));
