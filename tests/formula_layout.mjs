// How every display formula of some HTML pages lays out in headless Debian chromium (puppeteer-core from
// tools/referees, nothing downloaded), at each width. Usage: node formula_layout.mjs jobs.json result.json,
// jobs = {"files": [...], "widths": [390, 1280]}; result = {file: {width: [{scrollWidth, clientWidth,
// tabindex, role, label, alttext, mathLabel, left, right, viewport, pageScroll}, ...]}}.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "tools", "referees", "package.json"));
const puppeteer = require("puppeteer-core");

const [jobsFile, resultFile] = process.argv.slice(2);
const { files, widths } = JSON.parse(readFileSync(jobsFile, "utf8"));
const browser = await puppeteer.launch({
  executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
  headless: true,
});
const result = {};
try {
  const page = await browser.newPage();
  await page.setRequestInterception(true);
  page.on("request", (request) => (request.url().startsWith("file:") || request.url().startsWith("data:")
    ? request.continue() : request.abort()));
  for (const file of files) {
    result[file] = {};
    for (const width of widths) {
      await page.setViewport({ width, height: 900 });
      await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
      result[file][width] = await page.evaluate(() => [...document.querySelectorAll('math[display="block"]')]
        .map((math) => {
          const box = math.closest(".formula") || math;
          const rect = math.getBoundingClientRect();
          return {
            scrollWidth: box.scrollWidth, clientWidth: box.clientWidth,
            tabindex: box.getAttribute("tabindex"), role: box.getAttribute("role"),
            label: box.getAttribute("aria-label"), alttext: math.getAttribute("alttext"),
            mathLabel: math.getAttribute("aria-label"), left: rect.left, right: rect.right,
            viewport: document.documentElement.clientWidth,
            pageScroll: document.documentElement.scrollWidth,
          };
        }));
    }
  }
} finally {
  await browser.close();
}
writeFileSync(resultFile, JSON.stringify(result, null, 1));
