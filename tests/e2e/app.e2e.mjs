// End to end: the real chainlift-app binary in a real webview (WebKitWebDriver via
// tauri-driver) under Xvfb. Opens the default project (the embedded sample), checks the graph
// and the environment columns, clicks Run, waits for the run to complete, saves a screenshot,
// then asks the CLI for the newest run in the same data folder.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { remote } from "webdriverio";

const app = process.env.CHAINLIFT_APP;
const cli = process.env.CHAINLIFT_CLI;
const artifacts = process.env.ARTIFACTS_DIR ?? path.resolve("artifacts");
const port = 4444;
assert.ok(app && path.isAbsolute(app), "CHAINLIFT_APP must be the absolute path of chainlift-app");
assert.ok(cli, "CHAINLIFT_CLI must name the chainlift binary");
assert.ok(process.env.CHAINLIFT_HOME, "CHAINLIFT_HOME must point at a scratch data folder");

let driver;
let browser;

async function waitForDriver() {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/status`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("tauri-driver did not start on port " + port);
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  driver = spawn("tauri-driver", ["--port", String(port)], { stdio: ["ignore", "inherit", "inherit"] });
  await waitForDriver();
  browser = await remote({
    hostname: "127.0.0.1",
    port,
    logLevel: "warn",
    capabilities: {
      "tauri:options": { application: app },
      "wdio:enforceWebDriverClassic": true,
    },
  });
});

after(async () => {
  if (browser) await browser.deleteSession().catch(() => {});
  if (driver) driver.kill();
});

const byTestId = (id) => browser.$(`[data-testid="${id}"]`);

test("the sample project opens with its graph and three environment columns", async () => {
  await (await byTestId("chain-graph")).waitForDisplayed({ timeout: 20000 });
  for (const agent of ["researcher", "writer"]) {
    // React Flow shows nodes once it has measured them.
    await (await byTestId(`agent-node-${agent}`)).waitForDisplayed({ timeout: 10000 });
  }
  const columns = {};
  for (const env of ["dev", "staging", "production"]) {
    const col = await byTestId(`env-column-${env}`);
    await col.waitForDisplayed({ timeout: 10000 });
    columns[env] = await col.getText();
  }
  assert.match(columns.dev, /gpt-5\.4-mini/);
  assert.match(columns.staging, /claude-haiku/);
  assert.match(columns.production, /claude-sonnet/);
  assert.match(columns.production, /1 m/, "production resolves AGENT_TIMEOUT=60");
});

test("Run runs the chain in dev and shows it completed, with cost and output", async () => {
  await (await byTestId("run-button")).click();
  const status = await byTestId("run-status");
  await status.waitForDisplayed({ timeout: 30000 });
  await browser.waitUntil(async () => (await status.getText()) !== "running", { timeout: 30000 });
  assert.equal(await status.getText(), "completed");
  const output = await (await byTestId("run-output")).getText();
  assert.match(output, /Refund policies/);
  await browser.saveScreenshot(path.join(artifacts, "e2e-run-completed.png"));

  // The app and the CLI share one data folder: the CLI sees the run the app just made.
  const last = JSON.parse(execFileSync(cli, ["runs", "last", "--format", "json"], { encoding: "utf8" }));
  assert.equal(last.status, "completed");
  assert.equal(last.env, "dev");
  assert.equal(last.chain, "content-pipeline");
  assert.ok(last.cost > 0, "the sample's models are priced");
});

test("the home screen shows what is deployed, and the other screens open", async () => {
  assert.equal(await (await byTestId("deployed-version-dev")).getText(), "—");
  await (await byTestId("nav-versions")).click();
  await browser.waitUntil(async () => (await browser.$("body").getText()).includes("No versions yet"), { timeout: 10000 });
  await (await byTestId("nav-promotion")).click();
  await browser.waitUntil(async () => (await browser.$("body").getText()).includes("No promotion open"), { timeout: 10000 });
  await browser.saveScreenshot(path.join(artifacts, "e2e-promotion-empty.png"));
  await (await byTestId("nav-runs")).click();
  const detail = await byTestId("run-detail");
  await detail.waitForDisplayed({ timeout: 10000 });
  assert.match(await detail.getText(), /researcher[\s\S]*writer/);
  await browser.saveScreenshot(path.join(artifacts, "e2e-runs.png"));
  await (await byTestId("nav-editor")).click();
  await (await byTestId("chain-graph")).waitForDisplayed({ timeout: 10000 });
  await (await byTestId("nav-home")).click();
  await (await byTestId("run-button")).waitForDisplayed({ timeout: 10000 });
});

/** Every file under `dir` whose bytes contain `needle`. */
function filesContaining(dir, needle) {
  const hits = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) hits.push(...filesContaining(p, needle));
    else if (readFileSync(p).includes(needle)) hits.push(p);
  }
  return hits;
}

test("environments: a diff, and a secret set through a masked input that never comes back", async () => {
  await (await byTestId("nav-environments")).click();
  const diff = await byTestId("diff-view");
  await diff.waitForDisplayed({ timeout: 10000 });
  assert.match(await diff.getText(), /claude-sonnet/);
  const row = await byTestId("secret-row-SLACK_WEBHOOK");
  await row.waitForDisplayed({ timeout: 10000 });
  assert.match(await row.getText(), /not set/);
  await (await row.$("button")).click();
  const input = await byTestId("secret-input");
  assert.equal(await input.getAttribute("type"), "password");
  const value = "https://hooks.example.test/services/T0/B0/e2e-" + process.pid;
  await input.setValue(value);
  await (await row.$("button[type=submit]")).click();
  const isSet = async () => {
    const text = await (await byTestId("secret-row-SLACK_WEBHOOK")).getText();
    // getText may join cells without spaces ("SLACK_WEBHOOKset"): look for the words, not boundaries.
    return text.includes("set") && !text.includes("not set");
  };
  try {
    await browser.waitUntil(isSet, { timeout: 20000 });
  } catch (e) {
    await browser.saveScreenshot(path.join(artifacts, "e2e-environments-failed.png"));
    throw new Error(`the secret did not show as set: ${await browser.$("body").getText()}`, { cause: e });
  }
  await browser.saveScreenshot(path.join(artifacts, "e2e-environments.png"));
  assert.ok(!(await browser.$("body").getText()).includes(value), "the value is not shown");
  const html = await browser.getPageSource();
  assert.ok(!html.includes(value), "the value is not in the page");
  assert.deepEqual(filesContaining(process.env.CHAINLIFT_HOME, value), [], "the value is in no file of the data folder");
  const found = execFileSync("secret-tool", ["search", "--all", "service", "chainlift-dev", "username", "acme-content/dev/SLACK_WEBHOOK"], { encoding: "utf8" });
  assert.match(found, /acme-content\/dev\/SLACK_WEBHOOK/, "the keychain has it");
});
