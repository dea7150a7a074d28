// Drives `build.py serve` in headless Debian chromium (puppeteer-core from tools/referees, nothing downloaded).
// Usage: node serve_driver.mjs job.json result.json
//   job = {"url": "http://127.0.0.1:PORT/", "timeout_ms": 20000,
//          "steps": [{"path": FILE, "text": NEW CONTENT, "expect": TEXT IN THE PAGE, "banner": TEXT IN THE BANNER,
//                     "not_banner": TEXT NOT IN THE BANNER}]}
// Opens the page once, then for each step writes the file (a save) and waits, without navigating, until the page
// has reloaded by itself (a marker set on the window is gone) and shows `expect` (and `banner` in #pp-banner).
// result = {"initial": SNAPSHOT, "steps": [{"ms": SAVE TO RELOADED PAGE, ...SNAPSHOT}], "url_after": URL}
// SNAPSHOT = {"banner": TEXT, "blocks": [{"src": "path:line", "link": LINK TEXT, "href": HREF, "text": TEXT}]}
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../tools/referees/package.json", import.meta.url));
const puppeteer = require("puppeteer-core");

const [jobFile, resultFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, "utf8"));
const timeout = job.timeout_ms || 20000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(page, test, arg) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      if (await page.evaluate(test, arg)) return;
    } catch {
      // the page is reloading: its context went away; look again
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${JSON.stringify(arg)}`);
    await sleep(5);
  }
}

function snapshot() {
  const blocks = [...document.querySelectorAll("[data-src]")].map((element) => {
    const link = element.tagName === "TABLE" ? element.previousElementSibling : element.querySelector(".pp-src");
    const copy = element.cloneNode(true);
    copy.querySelectorAll(".pp-src").forEach((a) => a.remove());
    return { src: element.dataset.src, state: element.dataset.state, link: link ? link.textContent : null,
      href: link ? link.getAttribute("href") : null, text: copy.textContent.trim() };
  });
  const banner = document.getElementById("pp-banner");
  return { banner: banner ? banner.innerText : null, blocks };
}

const browser = await puppeteer.launch({
  executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
  headless: true,
});
const result = { steps: [] };
try {
  const page = await browser.newPage();
  await page.goto(job.url, { waitUntil: "load" });
  result.initial = await page.evaluate(snapshot);
  if (job.open_first_link) {  // the catalog viewer, at the line the first block names
    const href = result.initial.blocks[0].href;
    const viewer = await browser.newPage();
    await viewer.goto(new URL(href, job.url).href, { waitUntil: "load" });
    result.viewer = await viewer.evaluate(() => {
      const line = document.querySelector(":target");
      return { title: document.title, target: line ? line.id : null, text: line ? line.textContent : null };
    });
    await viewer.close();
  }
  for (const step of job.steps) {
    await page.evaluate(() => { window.ppNotReloaded = true; });
    const started = process.hrtime.bigint();
    writeFileSync(step.path, step.text);
    await until(page, ({ expect, banner, notBanner }) => {
      const shown = document.getElementById("pp-banner")?.innerText || "";
      return !window.ppNotReloaded && document.readyState === "complete" && document.body.innerText.includes(expect)
        && (!banner || shown.includes(banner)) && (!notBanner || !shown.includes(notBanner));
    }, { expect: step.expect, banner: step.banner || "", notBanner: step.not_banner || "" });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    result.steps.push({ ms, ...(await page.evaluate(snapshot)) });
    if (step.pause_ms) await sleep(step.pause_ms);
  }
  result.url_after = page.url();
} catch (err) {
  result.error = String(err?.stack ?? err);
} finally {
  await browser.close();
}
writeFileSync(resultFile, JSON.stringify(result));
