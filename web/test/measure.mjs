// WEB_MEASURE=1 web/test.sh: how long the desk page takes to take and to load a national-scale
// trust state. `scale --mode bitmap --out DIR` (SCALE_BIN, SCALE_CREDENTIALS, default 10^8)
// writes a root-signed bundle for that many credentials (shards of 2^20, 1 % revoked); the
// desk page pins its root, syncs it from a file (the clerk's "sync from file"), and is then
// reloaded: loading re-verifies the saved bundle (Desk.restore) before the page is ready.
// Results in web/test-output/measure-report.json.
import { readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { shots, env, run, serveDist, browser, shooter, open } from "./common.mjs";

const WORK = env("WORK");
const credentials = process.env.SCALE_CREDENTIALS || "100000000";
const out = join(WORK, `scale-${credentials}`);
const t0 = Date.now();
const made = JSON.parse(run(env("SCALE_BIN"), ["--credentials", credentials, "--mode", "bitmap", "--out", out, "--json"]));
console.log(`measure: scale wrote a bundle for ${credentials} credentials (${made.bundle_bytes} bytes) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const root = readFileSync(join(out, "root.jwk"), "utf8");
const bundle = join(out, "bundle.jwt");

const server = await serveDist();
const shot = shooter("measure-");
const b = await browser(join(WORK, "measure-desk"), null);
const report = { credentials: Number(credentials), bundle_bytes: statSync(bundle).size, runs: [] };
try {
  const { page } = await open(b, `http://127.0.0.1:${server.address().port}/desk/`, "https://id.example.cn");
  await page.$eval("#root-text", (e, v) => { e.value = v; }, root);
  await page.click("#pin");
  await page.waitForSelector("body[data-screen=sync]");
  for (let i = 0; i < 3; i++) {
    const input = await page.$("#sync-file");
    const s0 = Date.now();
    await input.uploadFile(bundle);
    await page.waitForFunction(() => !document.getElementById("sync-result").hidden || !document.getElementById("sync-error").hidden, { timeout: 600000 });
    const syncMs = Date.now() - s0;
    assert.equal(await page.$eval("#sync-error", (e) => e.hidden), true, await page.$eval("#sync-error", (e) => e.textContent));
    if (i === 0) await shot(page, "national-synced");
    const l0 = Date.now();
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", { timeout: 600000 });
    const loadMs = Date.now() - l0;
    const info = await page.evaluate(() => document.getElementById("state-line").textContent);
    report.runs.push({ sync_from_file_ms: syncMs, page_load_ms: loadMs });
    console.log(`measure: desk sync from file ${syncMs} ms, page load (restore) ${loadMs} ms (${info})`);
    await page.click("#to-sync");
    await page.waitForSelector("body[data-screen=sync]");
  }
} finally {
  await b.close();
  server.close();
}
writeFileSync(join(shots, "measure-report.json"), JSON.stringify(report, null, 2));
