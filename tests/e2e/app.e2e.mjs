// End to end: the real chainlift-app binary in a real webview (WebKitWebDriver via
// tauri-driver) under Xvfb. Opens the default project (the embedded sample), checks the graph
// and the environment columns, clicks Run, waits for the run to complete, saves a screenshot,
// then asks the CLI for the newest run in the same data folder.
import { spawn, execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";
import { endSession, openBrowser, startSession } from "./driver.mjs";
import { startProviders } from "./providers.mjs";

const app = process.env.CHAINLIFT_APP;
const cli = process.env.CHAINLIFT_CLI;
const artifacts = process.env.ARTIFACTS_DIR ?? path.resolve("artifacts");
const port = 4444;
assert.ok(app && path.isAbsolute(app), "CHAINLIFT_APP must be the absolute path of chainlift-app");
assert.ok(cli, "CHAINLIFT_CLI must name the chainlift binary");
assert.ok(process.env.CHAINLIFT_HOME, "CHAINLIFT_HOME must point at a scratch data folder");

let session = {};
let browser;
let providers;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  // Staging and production call "Anthropic": a local server speaking its wire format.
  providers = await startProviders();
  process.env.ANTHROPIC_BASE_URL = providers.url;
  process.env.OPENAI_BASE_URL = providers.url;
  // The app paints without compositing when there is no GPU (smooth, see perf.mjs), but in that
  // mode WebKitWebDriver's screenshot of some screens never returns; the tests use WebKit's
  // default (composited) path, which every machine with a GPU takes. See docs/DECISIONS.md.
  process.env.WEBKIT_DISABLE_COMPOSITING_MODE ??= "0";
  session = await startSession({ app, port, artifacts });
  browser = session.browser;
});

after(async () => {
  await endSession(session);
  if (providers) providers.server.close();
});

const byTestId = (id) => browser.$(`[data-testid="${id}"]`);

// axe-core, run in the webview: no serious or critical accessibility violation on a screen.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
async function accessible(screen) {
  await browser.execute(axeSource);
  const found = await browser.executeAsync((done) => {
    window.axe
      .run(document, { resultTypes: ["violations"] })
      .then((r) =>
        done(
          r.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`),
        ),
      )
      .catch((e) => done([`axe failed: ${e}`]));
  });
  assert.deepEqual(found, [], `${screen}: accessibility violations`);
}
/** Wait until no element has this test id (looking again each time: it may be re-rendering). */
const gone = (id) => browser.waitUntil(async () => !(await (await byTestId(id)).isExisting()), { timeout: 10000 });

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

  // Ctrl+Enter runs again: one more run in the shared history.
  const before = JSON.parse(execFileSync(cli, ["runs", "--format", "json"], { encoding: "utf8" })).length;
  await browser.keys(["Control", "Enter"]);
  await browser.waitUntil(
    async () => JSON.parse(execFileSync(cli, ["runs", "--format", "json"], { encoding: "utf8" })).length === before + 1,
    { timeout: 30000, timeoutMsg: "Ctrl+Enter did not start a run" },
  );
  await browser.waitUntil(async () => (await status.getText()) === "completed", { timeout: 30000 });
});

test("the home screen shows what is deployed, and the other screens open", async () => {
  assert.equal(await (await byTestId("deployed-version-dev")).getText(), "—");
  await accessible("home");
  await (await byTestId("nav-versions")).click();
  await browser.waitUntil(async () => (await browser.$("body").getText()).includes("No versions yet"), { timeout: 10000 });
  await accessible("versions");
  await (await byTestId("nav-promotion")).click();
  await browser.waitUntil(async () => (await browser.$("body").getText()).includes("No promotion open"), { timeout: 10000 });
  await browser.saveScreenshot(path.join(artifacts, "e2e-promotion-empty.png"));
  await accessible("promotion (empty)");
  await (await byTestId("nav-runs")).click();
  const detail = await byTestId("run-detail");
  await detail.waitForDisplayed({ timeout: 10000 });
  assert.match(await detail.getText(), /researcher[\s\S]*writer/);
  const events = await byTestId("run-events");
  await (await events.$("summary")).click();
  await browser.waitUntil(async () => /chain:start[\s\S]*research:done[\s\S]*from researcher/.test(await events.getText()), {
    timeout: 10000,
  });
  await browser.saveScreenshot(path.join(artifacts, "e2e-runs.png"));
  await accessible("runs");
  await (await byTestId("nav-editor")).click();
  await (await byTestId("chain-graph")).waitForDisplayed({ timeout: 10000 });
  await accessible("editor");
  await (await byTestId("nav-environments")).click();
  await browser.waitUntil(async () => (await bodyText()).includes("staging"), { timeout: 10000 });
  await accessible("environments");
  await (await byTestId("nav-gates")).click();
  await (await byTestId("run-gates-button")).waitForDisplayed({ timeout: 10000 });
  await accessible("gates (empty)");
  await (await byTestId("nav-home")).click();
  await (await byTestId("run-button")).waitForDisplayed({ timeout: 10000 });
  // Going away and coming back: the graph is drawn every time (it once stayed blank on about
  // half the returns, its nodes never measured).
  for (let i = 0; i < 4; i++) {
    await (await byTestId(i % 2 ? "nav-runs" : "nav-versions")).click();
    await (await byTestId("nav-home")).click();
    for (const agent of ["researcher", "writer"]) {
      await (await byTestId(`agent-node-${agent}`)).waitForDisplayed({ timeout: 5000, timeoutMsg: `return ${i + 1} to Home: ${agent} is not drawn` });
    }
  }
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
  // Record every IPC response from here on (backend.ts, the app's only IPC path, logs into
  // this list once it exists), to check none carries the secret.
  await browser.execute(() => {
    window.__chainliftIpc = [];
  });
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
  const ipc = await browser.execute(() => window.__chainliftIpc);
  assert.ok(ipc.some((r) => r.includes('"cmd":"secret_set"')), "the set went over IPC");
  assert.deepEqual(ipc.filter((r) => r.includes(value)), [], "no IPC response carries the value");
  const found = execFileSync("secret-tool", ["search", "--all", "service", "chainlift-dev", "username", "acme-content/dev/SLACK_WEBHOOK"], { encoding: "utf8" });
  assert.match(found, /acme-content\/dev\/SLACK_WEBHOOK/, "the keychain has it");
});

const chainDir = path.join(process.env.CHAINLIFT_HOME, "sample/content-pipeline/chains/content-pipeline");

async function saveAndWait() {
  await (await byTestId("save-button")).click();
  await browser.waitUntil(async () => (await (await byTestId("dirty-state")).getText()) === "All changes saved", {
    timeout: 15000,
  });
}

async function setPrompt(text) {
  const input = await byTestId("prompt-input");
  await input.waitForDisplayed({ timeout: 10000 });
  // setValue types; a long prompt is set directly and announced to React as an input event.
  await browser.execute(
    (el, value) => {
      const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set;
      setter.call(el, value);
      el.dispatchEvent(new Event("input", { bubbles: true }));
    },
    input,
    text,
  );
}

/** A test that saves a screenshot of the app when it fails. */
function uiTest(name, body) {
  test(name, async () => {
    try {
      await body();
    } catch (e) {
      await browser.saveScreenshot(path.join(artifacts, `failed-${name.slice(0, 40).replace(/[^a-z0-9]+/gi, "-")}.png`));
      throw e;
    }
  });
}

uiTest("editor: a prompt edited in the app lands in the YAML with its comments intact, and back", async () => {
  const file = path.join(chainDir, "agents/writer.yaml");
  const original = readFileSync(file, "utf8");
  await (await byTestId("nav-editor")).click();
  const node = await byTestId("agent-node-writer");
  await node.waitForDisplayed({ timeout: 10000 });
  await node.click();
  const prompt = await byTestId("prompt-input");
  await prompt.waitForDisplayed({ timeout: 10000 });
  const before = await prompt.getValue();
  await setPrompt("Write a crisp report on {{ input.topic }}.\n\nResearch brief:\n{{ events[\"research:done\"].output }}\n");
  assert.match(await (await byTestId("dirty-state")).getText(), /1 unsaved change/);
  // Ctrl+S saves.
  await browser.keys(["Control", "s"]);
  await browser.waitUntil(async () => (await (await byTestId("dirty-state")).getText()) === "All changes saved", {
    timeout: 15000,
    timeoutMsg: "Ctrl+S did not save",
  });
  const edited = readFileSync(file, "utf8");
  assert.match(edited, /^# The writer turns the researcher's brief into the report\./, "the header comment is kept");
  assert.match(edited, /output: json  # validated against the schema below/, "the trailing comment is kept");
  assert.match(edited, /prompt: \|\n  Write a crisp report on \{\{ input\.topic \}\}\./);
  const keysOf = (t) => t.split("\n").filter((l) => /^[a-z_]+:/.test(l)).map((l) => l.split(":")[0]);
  assert.deepEqual(keysOf(edited), keysOf(original), "key order is kept");
  await browser.saveScreenshot(path.join(artifacts, "e2e-editor.png"));

  await setPrompt(before);
  await saveAndWait();
  assert.equal(readFileSync(file, "utf8"), original, "restoring the prompt restores the file byte for byte");
});

uiTest("editor: a new agent connected from the properties panel gets the trigger written", async () => {
  await (await byTestId("new-agent-name")).setValue("critic");
  await (await byTestId("add-agent-button")).click();
  await (await byTestId("agent-node-critic")).waitForDisplayed({ timeout: 10000 });
  await (await byTestId("trigger-select")).selectByAttribute("value", "research:done");
  await (await byTestId("trigger-add")).click();
  // The graph draws the new wire before anything is saved.
  await browser.waitUntil(async () => (await (await byTestId("chain-graph")).getText()).includes("research:done"));
  await saveAndWait();
  const file = readFileSync(path.join(chainDir, "agents/critic.yaml"), "utf8");
  assert.match(file, /triggers: \[research:done\]/);
  assert.match(readFileSync(path.join(chainDir, "chain.yaml"), "utf8"), /  - name: critic\n/);
  // The linter's findings show on the new node (it emits nothing, so nothing hears it).
  await (await byTestId("node-findings-critic")).waitForDisplayed({ timeout: 10000 });
  await browser.saveScreenshot(path.join(artifacts, "e2e-editor-connected.png"));

  await (await byTestId("agent-node-critic")).click();
  await (await byTestId("delete-agent")).click();
  await gone("agent-node-critic");
  // Undo brings it back with its wire; Redo deletes it again.
  await (await byTestId("undo-button")).click();
  await (await byTestId("agent-node-critic")).waitForDisplayed({ timeout: 10000 });
  await (await byTestId("rf__edge-researcher-research:done->critic")).waitForExist({ timeout: 10000 });
  await (await byTestId("redo-button")).click();
  await gone("agent-node-critic");
  await saveAndWait();
  assert.ok(!existsSync(path.join(chainDir, "agents/critic.yaml")));
});

uiTest("editor: renaming an agent moves its file and what names it; routes are edited as rows", async () => {
  const files = ["chain.yaml", "agents/writer.yaml", "agents/researcher.yaml"].map((f) => path.join(chainDir, f));
  const originals = files.map((f) => readFileSync(f, "utf8"));
  try {
    await (await byTestId("agent-node-writer")).click();
    const name = await byTestId("name-input");
    await name.waitForDisplayed({ timeout: 10000 });
    await name.setValue("author");
    await (await byTestId("rename-button")).click();
    await (await byTestId("agent-node-author")).waitForDisplayed({ timeout: 10000 });
    await saveAndWait();
    assert.ok(!existsSync(files[1]), "the old agent file is gone");
    assert.match(readFileSync(path.join(chainDir, "agents/author.yaml"), "utf8"), /^# The writer turns[^]*\nname: author\n/);
    const chainYaml = readFileSync(files[0], "utf8");
    assert.match(chainYaml, /  - name: author\n/);
    assert.match(chainYaml, /output: \{from: author, /, "output.from follows the rename");

    await (await byTestId("agent-node-researcher")).click();
    await (await byTestId("use-routes")).click();
    await (await byTestId("route-when-0")).setValue("output | length > 100000");
    await (await byTestId("route-emit-0")).setValue("research:long");
    await (await byTestId("route-emit-1")).setValue("research:done");
    // The wire to the author stays drawn: the else route still sends research:done.
    await (await byTestId("rf__edge-researcher-research:done->author")).waitForExist({ timeout: 10000 });
    await browser.pause(300); // let the last keystrokes paint before the screenshot
    await browser.saveScreenshot(path.join(artifacts, "e2e-editor-routes.png"));
    await saveAndWait();
    assert.match(
      readFileSync(files[2], "utf8"),
      /routes:\n  - \{when: "output \| length > 100000", emit: "research:long"\}\n  - \{else: "research:done"\}\n/,
    );
    assert.doesNotMatch(readFileSync(files[2], "utf8"), /^emits:/m, "routes replace emits");
  } finally {
    files.forEach((f, i) => writeFileSync(f, originals[i]));
    rmSync(path.join(chainDir, "agents/author.yaml"), { force: true });
  }
  await (await byTestId("agent-node-writer")).waitForDisplayed({ timeout: 10000 });
  // Dismiss the "reloaded" notice the restore caused, so the next test sees its own.
  const notice = await byTestId("editor-notice");
  await notice.waitForDisplayed({ timeout: 10000 });
  await notice.click();
  await notice.waitForDisplayed({ reverse: true, timeout: 10000 });
});

uiTest("editor: a change on disk reloads the editor when nothing is unsaved", async () => {
  const file = path.join(chainDir, "agents/researcher.yaml");
  const original = readFileSync(file, "utf8");
  writeFileSync(file, original.replace("max_tokens: 1500", "max_tokens: 1600"));
  try {
    await browser.waitUntil(async () => (await browser.$("body").getText()).includes("changed on disk"), {
      timeout: 10000,
    });
  } finally {
    writeFileSync(file, original);
  }
  await browser.waitUntil(async () => (await browser.$("body").getText()).includes("Reloaded"), { timeout: 10000 });
  await (await byTestId("nav-home")).click();
});

uiTest("editor: a change on disk while edits are unsaved asks, and keeping them merges both", async () => {
  const researcher = path.join(chainDir, "agents/researcher.yaml");
  const writer = path.join(chainDir, "agents/writer.yaml");
  const originals = [readFileSync(researcher, "utf8"), readFileSync(writer, "utf8")];
  await (await byTestId("nav-editor")).click();
  await (await byTestId("agent-node-researcher")).waitForDisplayed({ timeout: 10000 });
  await (await byTestId("agent-node-researcher")).click();
  const prompt = await byTestId("prompt-input");
  await prompt.waitForDisplayed({ timeout: 10000 });
  await setPrompt((await prompt.getValue()) + "Cite at least three sources.\n");
  writeFileSync(writer, originals[1].replace("max_tokens: 3000", "max_tokens: 2900"));
  try {
    const conflict = await byTestId("conflict");
    await conflict.waitForDisplayed({ timeout: 10000 });
    await browser.saveScreenshot(path.join(artifacts, "e2e-editor-conflict.png"));
    await (await byTestId("conflict-keep")).click();
    await conflict.waitForDisplayed({ reverse: true, timeout: 10000 });
    await saveAndWait();
    assert.match(readFileSync(researcher, "utf8"), /Cite at least three sources\./, "my edit is saved");
    assert.match(readFileSync(writer, "utf8"), /max_tokens: 2900/, "the change on disk is kept");
  } finally {
    writeFileSync(researcher, originals[0]);
    writeFileSync(writer, originals[1]);
  }
  await browser.waitUntil(async () => !(await (await byTestId("prompt-input")).getValue()).includes("Cite at least"), {
    timeout: 10000,
  });
  await (await byTestId("nav-home")).click();
});

const sampleRoot = path.join(process.env.CHAINLIFT_HOME, "sample/content-pipeline");
const providerKey = "anthropic-e2e-key-" + process.pid;

uiTest("gates: staging's gates run with progress, and the quality chart shows scores per criterion and input", async () => {
  for (const env of ["staging", "production"]) {
    execFileSync(cli, ["secrets", "set", "--env", env, "ANTHROPIC_API_KEY"], { cwd: sampleRoot, input: providerKey });
  }
  await (await byTestId("nav-gates")).click();
  await (await byTestId("gates-env")).selectByVisibleText("staging");
  // Slow providers make this a long gate run, which ends with a desktop notification: watch the
  // session bus for it (the monitor sees the call whether or not a notification daemon runs).
  let bus = "";
  const monitor = spawn("dbus-monitor", ["--session", "interface='org.freedesktop.Notifications',member='Notify'"]);
  monitor.stdout.on("data", (d) => (bus += d));
  await new Promise((r) => setTimeout(r, 500));
  providers.state.delayMs = 1500;
  try {
    await (await byTestId("run-gates-button")).click();
    await (await byTestId("gates-progress")).waitForDisplayed({ timeout: 10000 });
    const steps = await byTestId("gate-steps");
    await browser.waitUntil(async () => /smoke/.test(await steps.getText()), { timeout: 20000 });
    await browser.saveScreenshot(path.join(artifacts, "e2e-gates-running.png"));
    await (await byTestId("quality-chart")).waitForDisplayed({ timeout: 90000 });
    await browser.waitUntil(async () => bus.includes("Chainlift gates"), {
      timeout: 10000,
      timeoutMsg: `no desktop notification on the session bus: ${bus}`,
    });
    // staging's webhook is not set yet, so its config gate fails, and the notification says which.
    assert.match(bus, /string "Chainlift gates"\s+string "content-pipeline failed config for staging"/);
  } finally {
    providers.state.delayMs = 0;
    monitor.kill();
  }
  const chart = await byTestId("quality-chart");
  const text = await chart.getText();
  for (const criterion of ["completeness", "accuracy", "formatting", "relevance"]) assert.match(text, new RegExp(criterion));
  const cell = await browser.$('[data-testid="quality-heatmap"] td.score-4');
  assert.match(await cell.getAttribute("title"), /formatting 4\/5: formatting: minor layout nits/);
  assert.match(await (await byTestId("gate-status-smoke")).getText(), /passed/);
  assert.match(await (await byTestId("gate-status-quality")).getText(), /passed/);
  await browser.saveScreenshot(path.join(artifacts, "e2e-gates.png"));
  assert.deepEqual(filesContaining(process.env.CHAINLIFT_HOME, providerKey), [], "the provider key is in no file");
  // Home shows each env's gate results on the files as they are.
  await (await byTestId("nav-home")).click();
  const homeGates = await byTestId("env-gates-staging");
  await homeGates.waitForDisplayed({ timeout: 10000 });
  await browser.waitUntil(async () => /✓ smoke[\s\S]*✓ quality/.test(await homeGates.getText()), { timeout: 10000 });
});

const GATES = ["smoke", "quality", "cost", "config", "infra", "rollback"];

async function bodyText() {
  return browser.$("body").getText();
}

/** Home → "Promote" in `env`'s column; the gates run and the promotion screen opens. */
async function promoteIn(env) {
  await (await byTestId("nav-home")).click();
  const col = await byTestId(`env-column-${env}`);
  await col.waitForDisplayed({ timeout: 10000 });
  await (await col.$('[data-testid="promote-button"]')).click();
  await browser.waitUntil(async () => (await bodyText()).includes(`→ ${env}`), { timeout: 90000 });
  await (await byTestId("gate-status-smoke")).waitForDisplayed({ timeout: 10000 });
  // The reviewer's scores are on the promotion itself, for whoever approves it.
  assert.match(await (await byTestId("quality-chart")).getText(), /completeness/);
}

/** Waive every failed gate with a reason, in the app. */
async function waiveFailed() {
  for (const gate of GATES) {
    const button = await browser.$(`[data-testid="waive-${gate}"]`);
    if (!(await button.isExisting())) continue;
    await button.click();
    await (await byTestId(`waive-reason-${gate}`)).setValue(`e2e: ${gate} cannot pass on a test machine`);
    await (await byTestId(`waive-submit-${gate}`)).click();
    await browser.waitUntil(async () => (await (await byTestId(`gate-status-${gate}`)).getText()) === "waived", {
      timeout: 10000,
    });
  }
}

/** Tick every unticked manual checklist item by a click; the first with a note. Returns the keys. */
async function tickManual() {
  const keys = [];
  for (;;) {
    const items = await browser.$$('li.item-unticked[data-testid^="checklist-item-"]');
    if (items.length === 0) return keys;
    const key = (await items[0].getAttribute("data-testid")).replace("checklist-item-", "");
    if (keys.length === 0) await (await byTestId(`tick-note-${key}`)).setValue("runbook reviewed with on-call");
    await (await byTestId(`tick-${key}`)).click();
    await browser.waitUntil(
      async () => (await (await byTestId(`checklist-item-${key}`)).getAttribute("class")).includes("item-ticked"),
      { timeout: 10000 },
    );
    keys.push(key);
  }
}

async function deployedIn(env) {
  return (await byTestId(`deployed-version-${env}`)).getText();
}

async function approveAndDeploy(env) {
  const note = await byTestId("approval-note");
  if ((await note.isExisting()) && (await note.isEnabled())) {
    await note.setValue(`e2e: ${env} reviewed`);
    await (await byTestId("approve-button")).click();
    await (await byTestId("approved-by")).waitForDisplayed({ timeout: 10000 });
  }
  const before = await deployedIn(env);
  const deploy = await byTestId("deploy-button");
  await browser.waitUntil(() => deploy.isEnabled(), { timeout: 10000 });
  await deploy.click();
  await browser.waitUntil(async () => (await deployedIn(env)) !== before, { timeout: 20000 });
  return deployedIn(env);
}

// The two versions the promotion test deployed to production (the rollout test reuses them).
let productionVersions = null;

uiTest("promotion: staging then production; a ticked item survives a restart; deploy and rollback move production", async () => {
  for (const env of ["staging", "production"]) {
    execFileSync(cli, ["secrets", "set", "--env", env, "SLACK_WEBHOOK"], {
      cwd: sampleRoot,
      input: `${providers.url}/hooks/e2e-${env}`,
    });
  }
  // Round one: staging passes on its own; production needs waivers (no prod database here)
  // and a person's ticks.
  await promoteIn("staging");
  await waiveFailed();
  await approveAndDeploy("staging");
  await promoteIn("production");
  await waiveFailed();
  const ticked = await tickManual();
  assert.ok(ticked.length > 0, "production has manual items");
  await browser.saveScreenshot(path.join(artifacts, "e2e-promotion-production.png"));

  // Restart the app: the ticks are in the database, not in the window.
  await browser.deleteSession();
  browser = session.browser = await openBrowser({ app, port });
  const col = await byTestId("env-column-production");
  await col.waitForDisplayed({ timeout: 20000 });
  await (await col.$("button.link")).click();
  for (const key of ticked) {
    const item = await byTestId(`checklist-item-${key}`);
    await item.waitForDisplayed({ timeout: 10000 });
    assert.match(await item.getAttribute("class"), /item-ticked/, `${key} is still ticked after a restart`);
  }
  assert.match(await bodyText(), /runbook reviewed with on-call/);

  assert.equal(await deployedIn("production"), "—");
  const first = await approveAndDeploy("production");
  assert.match(first, /^v\d+$/, "production versions are tagged v<N>");

  // Round two: a change goes through staging to production, then production rolls back.
  const writer = path.join(chainDir, "agents/writer.yaml");
  writeFileSync(writer, readFileSync(writer, "utf8").replace("temperature: 0.4", "temperature: 0.5"));
  await promoteIn("staging");
  await waiveFailed();
  await approveAndDeploy("staging");
  await promoteIn("production");
  await waiveFailed();
  await tickManual();
  const second = await approveAndDeploy("production");
  assert.notEqual(second, first);
  productionVersions = { first, second };
  await browser.saveScreenshot(path.join(artifacts, "e2e-promotion-deployed.png"));

  await (await byTestId("rollback-button")).click();
  await (await byTestId("confirm-button")).click();
  await browser.waitUntil(async () => (await deployedIn("production")) === first, { timeout: 20000 });
  await (await byTestId("deployment-timeline")).waitForDisplayed({ timeout: 10000 });
  await browser.waitUntil(async () => (await (await byTestId("deployment-timeline")).getText()).includes("rollback"), {
    timeout: 10000,
  });
  // The promotion that was rolled back says so.
  await browser.waitUntil(async () => (await (await byTestId("promotion-state")).getText()) === "rolled back", {
    timeout: 10000,
  });
  await browser.saveScreenshot(path.join(artifacts, "e2e-promotion-rolled-back.png"));
  const verify = JSON.parse(execFileSync(cli, ["audit", "--verify", "--format", "json"], { encoding: "utf8" }));
  assert.equal(verify.ok, true, "the audit chain verifies after the app's actions");
});

/** Open `file` in headless Chromium: its console errors and every request it makes. */
async function openInChromium(file, screenshot) {
  const chromium = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  try {
    const page = await chromium.newPage();
    const errors = [];
    const requests = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    await page.setViewport({ width: 1100, height: 900 });
    await page.goto(`file://${file}`, { waitUntil: "load" });
    await page.screenshot({ path: screenshot, fullPage: true });
    return { errors, requests: requests.filter((u) => u !== `file://${file}`), text: await page.evaluate(() => document.body.innerText) };
  } finally {
    await chromium.close();
  }
}

uiTest("the PM's review: a low score read beside the deployed answer, the threshold adjusted, a team item, approval by the approver, the report", async () => {
  const policy = path.join(sampleRoot, "chainlift.yaml");
  const writer = path.join(chainDir, "agents/writer.yaml");
  const originalPolicy = readFileSync(policy, "utf8");
  const originalWriter = readFileSync(writer, "utf8");
  const chain = path.join(chainDir, "chain.yaml");
  const originalChain = readFileSync(chain, "utf8");
  const withTeam = (user) =>
    (user ? `user: ${user}\n` : "") +
    originalPolicy.replace(
      "  - {name: staging, gates: [smoke, quality, cost, config]}",
      "  - {name: staging, gates: [smoke, quality, cost, config], approval: required, approvers: [dana]}",
    ) +
    "checklist:\n  - {key: legal-review, section: team, text: \"Legal read the new prompts\", envs: [staging]}\n";
  writeFileSync(policy, withTeam(null));
  writeFileSync(writer, originalWriter.replace("Write a report on", "Write tersely a report on"));
  try {
    await promoteIn("staging");
    assert.equal(await (await byTestId("gate-status-quality")).getText(), "failed");
    // A low cell opens the review: the rationale as text, this version's output beside the deployed one.
    await (await byTestId("heatmap-cell-onboarding.json-completeness")).click();
    const panel = await byTestId("review-panel");
    await panel.waitForDisplayed({ timeout: 10000 });
    const output = await byTestId("review-output");
    await browser.waitUntil(async () => /too terse to be complete/.test(await output.getText()), { timeout: 10000 });
    assert.match(await output.getText(), /TERSE: refund/);
    assert.match(await (await byTestId("review-baseline")).getText(), /A short refund window keeps trust/);
    assert.match(await (await byTestId("review-diff")).getText(), /TERSE/);
    await (await byTestId("review-panel")).scrollIntoView();
    await browser.saveScreenshot(path.join(artifacts, "e2e-review-panel.png"));
    await accessible("promotion with the review panel");
    await browser.keys(["ArrowDown"]);
    await browser.waitUntil(async () => /pricing\.json/i.test(await (await byTestId("review-panel")).getText()), {
      timeout: 10000,
      timeoutMsg: "the down arrow does not move to the next input",
    });
    await browser.keys(["Escape"]);
    await gone("review-panel");

    // The PM lowers the threshold with a reason, then re-runs the gates on the changed files.
    await (await byTestId("adjust-criteria")).click();
    const threshold = await byTestId("criteria-threshold");
    await threshold.waitForDisplayed({ timeout: 10000 });
    await threshold.setValue("3.2");
    await (await byTestId("criteria-reason")).setValue("support asked for terse answers");
    await (await byTestId("criteria-save")).click();
    await (await byTestId("criteria-rerun-hint")).waitForDisplayed({ timeout: 10000 });
    assert.match(readFileSync(chain, "utf8"), /min_average: 3\.2/);
    await accessible("promotion with the criteria editor");
    await (await byTestId("repromote")).click();
    await browser.waitUntil(async () => (await (await byTestId("promotion-state")).getText()) === "awaiting approval", {
      timeout: 90000,
      timeoutMsg: "the re-run gates did not pass at the new threshold",
    });
    assert.match(await (await byTestId("criteria-changes")).getText(), /threshold 4\.0 → 3\.2 by \S+ .*support asked for terse answers/s);

    // The team's own item is on the checklist: ticked, unticked with a reason, ticked again.
    const legal = await byTestId("checklist-item-legal-review");
    assert.match(await legal.getText(), /Legal read the new prompts/);
    await (await byTestId("tick-legal-review")).click();
    await browser.waitUntil(async () => (await legal.getAttribute("class")).includes("item-ticked"), { timeout: 10000 });
    await (await byTestId("tick-note-legal-review")).setValue("they read last week's prompts");
    await (await byTestId("untick-legal-review")).click();
    await browser.waitUntil(async () => /unticked by .*they read last week's prompts/s.test(await legal.getText()), { timeout: 10000 });
    await tickManual();

    // Not an approver: refused with the approvers named. Then as dana, with a typed note.
    assert.match(await (await byTestId("approvers")).getText(), /dana/);
    await (await byTestId("approval-note")).setValue("read the terse outputs; support wants them");
    await (await byTestId("approve-button")).click();
    const refusal = await byTestId("action-error");
    await refusal.waitForDisplayed({ timeout: 10000 });
    assert.match(await refusal.getText(), /only dana may approve/);
    writeFileSync(policy, withTeam("dana"));
    await browser.waitUntil(
      async () => {
        if (await (await byTestId("approved-by")).isExisting()) return true;
        await (await byTestId("approval-note")).setValue("read the terse outputs; support wants them");
        await (await byTestId("approve-button")).click();
        await new Promise((r) => setTimeout(r, 500));
        return (await byTestId("approved-by")).isExisting();
      },
      { timeout: 20000, interval: 1500, timeoutMsg: "dana could not approve" },
    );
    assert.match(await (await byTestId("approved-by")).getText(), /dana: “read the terse outputs; support wants them”/);
    await browser.saveScreenshot(path.join(artifacts, "e2e-promotion-approved.png"));

    // The report: one file that opens with no console error and no request, and reads on its own.
    await (await byTestId("export-report")).click();
    const exported = await byTestId("exported-path");
    await exported.waitForDisplayed({ timeout: 10000 });
    const file = (await (await exported.$("code")).getText()).trim();
    assert.ok(existsSync(file), `the report is at ${file}`);
    const html = readFileSync(file, "utf8");
    assert.ok(!html.includes(providerKey), "no secret in the report");
    const opened = await openInChromium(file, path.join(artifacts, "e2e-report.png"));
    assert.deepEqual(opened.errors, [], "console errors in the report");
    assert.deepEqual(opened.requests, [], "the report loads nothing");
    for (const needle of ["too terse to be complete", "A short refund window keeps trust", "legal-review", "Approved by dana", "threshold 4.0 → 3.2"]) {
      assert.ok(opened.text.includes(needle), `the report lacks ${needle}`);
    }

    // The trend: staging's gated versions, one of which opens its gate run.
    await (await byTestId("nav-gates")).click();
    await (await byTestId("gates-env")).selectByVisibleText("staging");
    const trend = await byTestId("quality-trend");
    await trend.waitForDisplayed({ timeout: 10000 });
    await browser.waitUntil(async () => (await browser.$$('[data-testid^="trend-open-"]')).length >= 2, { timeout: 10000 });
    await trend.scrollIntoView();
    await browser.saveScreenshot(path.join(artifacts, "e2e-quality-trend.png"));
    await accessible("gates with the trend");
    await (await browser.$('[data-testid^="trend-open-"]')).click();
    await (await byTestId("gates-pinned")).waitForDisplayed({ timeout: 10000 });
  } finally {
    writeFileSync(policy, originalPolicy);
    writeFileSync(writer, originalWriter);
    writeFileSync(chain, originalChain);
  }
});

uiTest("runs: a run in staging shows each agent live, and Cancel stops it", async () => {
  providers.state.delayMs = 20000;
  try {
    await (await byTestId("nav-runs")).click();
    await (await byTestId("run-env")).selectByVisibleText("staging");
    await (await byTestId("run-button")).click();
    const agents = await byTestId("run-agents");
    await browser.waitUntil(async () => (await agents.getText()).includes("researcher"), { timeout: 15000 });
    await browser.saveScreenshot(path.join(artifacts, "e2e-run-live.png"));
    await (await byTestId("cancel-button")).click();
    const status = await byTestId("run-status");
    await status.waitForDisplayed({ timeout: 15000 });
    assert.equal(await status.getText(), "cancelled");
  } finally {
    providers.state.delayMs = 0;
  }
  const last = JSON.parse(execFileSync(cli, ["runs", "last", "--format", "json"], { encoding: "utf8" }));
  assert.equal(last.status, "cancelled");
  assert.equal(last.env, "staging");

  // The list filters by version too (the runs of v2 only).
  await (await byTestId("runs-version")).selectByVisibleText("v2");
  await browser.waitUntil(
    async () => {
      const versions = [];
      for (const cell of await browser.$$('[data-testid^="run-row-"] td.model')) versions.push(await cell.getText());
      return versions.length > 0 && versions.every((v) => v === "v2");
    },
    { timeout: 10000, timeoutMsg: "the version filter did not narrow the list to v2" },
  );
  await (await byTestId("runs-version")).selectByVisibleText("any version");
});

uiTest("versions: snapshot the files with a tag, and diff two versions", async () => {
  await (await byTestId("nav-versions")).click();
  await (await byTestId("version-row-v1")).waitForDisplayed({ timeout: 10000 });
  // The files on disk are what v2 was made from: the same content, so no new version.
  await (await byTestId("version-create-button")).click();
  await browser.waitUntil(async () => (await (await byTestId("version-created")).getText()).includes("already stored"), {
    timeout: 10000,
  });
  const writer = path.join(chainDir, "agents/writer.yaml");
  writeFileSync(writer, readFileSync(writer, "utf8").replace("max_tokens: 3000", "max_tokens: 3200"));
  await (await byTestId("version-tag")).setValue("rc-e2e");
  await (await byTestId("version-create-button")).click();
  await (await byTestId("version-row-rc-e2e")).waitForDisplayed({ timeout: 10000 });
  await (await browser.$('input[aria-label="A = v1"]')).click();
  await (await browser.$('input[aria-label="B = rc-e2e"]')).click();
  await (await byTestId("version-diff-button")).click();
  const diff = await byTestId("version-diff");
  await diff.waitForDisplayed({ timeout: 10000 });
  const text = await diff.getText();
  assert.match(text, /agents\/writer\.yaml/);
  assert.match(text, /\+max_tokens: 3200/);
  assert.match(text, /\+temperature: 0\.5/);
  // An untagged version gets its tag from its row.
  writeFileSync(writer, readFileSync(writer, "utf8").replace("max_tokens: 3200", "max_tokens: 3300"));
  await (await byTestId("version-create-button")).click();
  await browser.waitUntil(async () => /^Created [0-9a-f]{12} /.test(await (await byTestId("version-created")).getText()), {
    timeout: 10000,
  });
  const label = (await (await byTestId("version-created")).getText()).split(" ")[1];
  await (await byTestId(`tag-${label}`)).click();
  await (await byTestId("tag-input")).setValue("rc-e2e-2");
  await (await byTestId("tag-save")).click();
  await (await byTestId("version-row-rc-e2e-2")).waitForDisplayed({ timeout: 10000 });
  await browser.saveScreenshot(path.join(artifacts, "e2e-versions.png"));
});

uiTest("environments: every env's config in one table, secrets masked", async () => {
  await (await byTestId("nav-environments")).click();
  const table = await byTestId("config-table");
  await table.waitForDisplayed({ timeout: 10000 });
  const text = await table.getText();
  assert.match(text, /RESEARCHER_MODEL/);
  assert.match(text, /claude-haiku/);
  assert.match(text, /postgres:\/\/staging-db/);
  await browser.saveScreenshot(path.join(artifacts, "e2e-environments-config.png"));
  await (await byTestId("nav-home")).click();
  await (await byTestId("env-column-production")).waitForDisplayed({ timeout: 10000 });
  // One click (and a confirm) from home rolls staging back from v2 to v1.
  assert.equal(await deployedIn("staging"), "v2");
  await (await byTestId("rollback-staging")).click();
  await (await byTestId("confirm-button")).click();
  await browser.waitUntil(async () => (await deployedIn("staging")) === "v1", { timeout: 10000 });
  // The top bar says whose history this is: the SQLite file on this computer, its schema current.
  const badge = await byTestId("history-badge");
  await badge.waitForExist({ timeout: 10000 });
  assert.equal((await badge.getProperty("textContent")).trim(), "SQLite · this computer");
  assert.match(await badge.getAttribute("title"), /^History: SQLite .*chainlift\.db \(schema \d+\)$/);
  await browser.saveScreenshot(path.join(artifacts, "e2e-home.png"));
});

uiTest("home: a second chain appears in the chains × environments table, and choosing it switches every screen", async () => {
  const digest = path.join(path.dirname(chainDir), "digest");
  cpSync(chainDir, digest, { recursive: true });
  const yaml = path.join(digest, "chain.yaml");
  writeFileSync(yaml, readFileSync(yaml, "utf8").replace("name: content-pipeline", "name: digest").replace("Research a topic and write a report", "A weekly digest"));
  try {
    await (await byTestId("nav-editor")).click();
    await (await byTestId("nav-home")).click();
    const matrix = await byTestId("chain-matrix");
    await matrix.waitForDisplayed({ timeout: 10000 });
    // content-pipeline runs v1 in production (after the rollback above); digest was never deployed.
    assert.match(await (await byTestId("matrix-content-pipeline-production")).getText(), /runs v1/);
    assert.match(await (await byTestId("matrix-digest-production")).getText(), /runs —[^]*no runs yet/);
    await browser.saveScreenshot(path.join(artifacts, "e2e-home-chains.png"));
    await (await browser.$('[data-testid="matrix-row-digest"] button')).click();
    await browser.waitUntil(async () => (await browser.$("h1").getText()) === "digest", { timeout: 10000 });
    assert.equal(await (await byTestId("chain-select")).getValue(), "digest");
    // The editor opens the chosen chain's files.
    await (await byTestId("nav-editor")).click();
    await (await byTestId("agent-node-writer")).waitForDisplayed({ timeout: 10000 });
    await (await byTestId("agent-node-writer")).click();
    await setPrompt("A digest of {{ input.topic }}.\n");
    await saveAndWait();
    assert.match(readFileSync(path.join(digest, "agents/writer.yaml"), "utf8"), /A digest of/);
    assert.doesNotMatch(readFileSync(path.join(chainDir, "agents/writer.yaml"), "utf8"), /A digest of/);
    await (await byTestId("chain-select")).selectByAttribute("value", "content-pipeline");
    await (await byTestId("nav-home")).click();
    await browser.waitUntil(async () => (await browser.$("h1").getText()) === "content-pipeline", { timeout: 10000 });
  } finally {
    rmSync(digest, { recursive: true, force: true });
  }
  await (await byTestId("nav-runs")).click();
  await (await byTestId("nav-home")).click();
  // Home re-renders as it re-reads the project: look again until the table is gone.
  await gone("chain-matrix");
});

/** `chainlift serve --env production` on a free port, logging to artifacts/<log>: `base` is its
 * URL once it listens; `stop()` sends SIGTERM and waits for it to drain and exit. */
function startServe(log) {
  const child = spawn(cli, ["serve", "--env", "production", "--listen", "127.0.0.1:0"], {
    cwd: sampleRoot,
    stdio: ["ignore", "pipe", openSync(path.join(artifacts, log), "w")],
  });
  const base = new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(String(d).split(/\s+/)[2]));
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: see artifacts/${log}`)));
  });
  const stop = async () => {
    child.kill("SIGTERM");
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
  };
  return { base, stop };
}

// Issue 13: production for real. A `chainlift serve` of production takes requests from curl's
// stand-in (fetch); the app, which made none of it, shows the serve on Home and the runs on the
// Runs screen by itself (the change feed), within a second of each change.
uiTest("serve: Home shows who serves production, and its runs appear on Runs by themselves", async () => {
  await (await byTestId("nav-home")).click();
  const line = await byTestId("serve-status-production");
  await line.waitForDisplayed({ timeout: 10000 });
  assert.match(await line.getText(), /not served here/);
  const serve = startServe("serve.log");
  try {
    const base = await serve.base;
    await browser.waitUntil(async () => /served by/.test(await (await byTestId("serve-status-production")).getText()), {
      timeout: 5000,
      timeoutMsg: "Home did not show the serve holding production",
    });
    assert.match(await (await byTestId("serve-status-production")).getText(), /127\.0\.0\.1:\d+/);
    await (await byTestId("nav-runs")).click();
    await (await byTestId("runs-trigger")).selectByAttribute("value", "api");
    const input = readFileSync(path.join(chainDir, "test-fixtures/sample-input.json"), "utf8");
    const ids = [];
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${base}/v1/chains/content-pipeline/runs?wait=60`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: input,
      });
      const run = await r.json();
      assert.equal(r.status, 200, JSON.stringify(run));
      assert.equal(run.status, "completed", JSON.stringify(run));
      ids.push(run.id);
      // Finished: on screen within a second (plus the driver's own round trips), no click.
      await (await byTestId(`run-row-${run.id}`)).waitForExist({ timeout: 2500, timeoutMsg: `run ${run.id} did not appear` });
    }
    assert.match(await (await byTestId(`run-row-${ids[0]}`)).getText(), /api/);
    await browser.saveScreenshot(path.join(artifacts, "e2e-runs-serve.png"));
    // Away and back: the list is the same, the filter kept.
    await (await byTestId("nav-home")).click();
    await browser.waitUntil(async () => /[12] req\/min/.test(await (await byTestId("serve-status-production")).getText()), {
      timeout: 5000,
      timeoutMsg: "Home did not count the requests",
    });
    await browser.saveScreenshot(path.join(artifacts, "e2e-home-serving.png"));
    await (await byTestId("nav-runs")).click();
    for (const id of ids) await (await byTestId(`run-row-${id}`)).waitForExist({ timeout: 5000 });
    await (await byTestId("runs-trigger")).selectByAttribute("value", "");
  } finally {
    await serve.stop();
  }
  // A drained serve gives its lease up: Home says nobody serves production any more.
  await (await byTestId("nav-home")).click();
  await browser.waitUntil(async () => /not served here/.test(await (await byTestId("serve-status-production")).getText()), {
    timeout: 5000,
    timeoutMsg: "Home still shows a serve after it stopped",
  });
});

// Issue 14: a guarded rollout. The second production version (its writer at temperature 0.5)
// comes back as a canary for half the requests while the provider refuses its calls; serve's
// monitor rolls it back, and Home shows it happen without a click.
uiTest("rollout: a canary in production on Home, paused and resumed, then rolled back by serve by itself", async () => {
  assert.ok(productionVersions, "the promotion test deployed two versions to production");
  const { first, second } = productionVersions;
  const policy = path.join(sampleRoot, "chainlift.yaml");
  const original = readFileSync(policy, "utf8");
  writeFileSync(
    policy,
    original.replace(/monitor: \{[^}]*\}/, "monitor: {window: 60s, interval: 3s, min_runs: 3, steps: [50], step_for: 60s, max_latency_ratio: 1000}"),
  );
  const monitors = [];
  const serve = startServe("serve-rollout.log");
  try {
    const base = await serve.base;
    execFileSync(cli, ["deploy", "content-pipeline", "--version", second, "--env", "production", "--canary", "50"], { cwd: sampleRoot });
    await (await byTestId("nav-home")).click();
    await (await byTestId("rollout-panel-production")).waitForDisplayed({ timeout: 5000 });
    await browser.waitUntil(async () => new RegExp(`${second} takes 50 %`).test(await (await byTestId("rollout-weight-production")).getText()), {
      timeout: 5000,
      timeoutMsg: "the panel does not show the canary's share",
    });
    await (await byTestId("rollout-metric-failure_rate")).waitForDisplayed({ timeout: 5000 });
    // Pause and resume, each confirmed.
    await (await byTestId("rollout-pause-button")).click();
    await (await byTestId("confirm-button")).click();
    await browser.waitUntil(async () => /paused/.test(await (await byTestId("rollout-panel-production")).getText()), { timeout: 5000 });
    await (await byTestId("rollout-resume-button")).click();
    await (await byTestId("confirm-button")).click();
    await (await byTestId("rollout-pause-button")).waitForDisplayed({ timeout: 5000 });
    await browser.saveScreenshot(path.join(artifacts, "e2e-rollout-canary.png"));
    // Traffic with a key per user; the candidate's calls fail at the provider. The app, open
    // on Home, tells the person at the desk: watch the session bus for its notification.
    let bus = "";
    const monitor = spawn("dbus-monitor", ["--session", "interface='org.freedesktop.Notifications',member='Notify'"]);
    monitor.stdout.on("data", (d) => (bus += d));
    monitors.push(monitor);
    await new Promise((r) => setTimeout(r, 300));
    providers.state.failTemperature = 0.5;
    const input = readFileSync(path.join(chainDir, "test-fixtures/sample-input.json"), "utf8");
    let sent = 0;
    let seen = false;
    const traffic = (async () => {
      while (sent < 200 && !seen) {
        await Promise.all(
          Array.from({ length: 6 }, () =>
            fetch(`${base}/v1/chains/content-pipeline/runs?wait=60`, {
              method: "POST",
              headers: { "content-type": "application/json", "x-chainlift-key": `user-${sent++}` },
              body: input,
            }).then((r) => r.json()),
          ),
        );
      }
    })();
    await browser.waitUntil(async () => /rolled back/.test(await (await byTestId("rollout-panel-production")).getText()), {
      timeout: 30000,
      timeoutMsg: "the app did not show serve's rollback by itself",
    });
    seen = true;
    await traffic;
    const panel = await (await byTestId("rollout-panel-production")).getText();
    assert.match(panel, /failure rate 1\.00 > 0\.10 over \d+ runs of/);
    assert.equal(await deployedIn("production"), first);
    await browser.waitUntil(async () => bus.includes("Chainlift rollback"), {
      timeout: 10000,
      timeoutMsg: `no desktop notification of the rollback on the session bus: ${bus}`,
    });
    assert.match(bus, /string "content-pipeline in production rolled back automatically: failure rate/);
    await browser.saveScreenshot(path.join(artifacts, "e2e-rollout-rolled-back.png"));
    // Away and back: the same.
    await (await byTestId("nav-runs")).click();
    await (await byTestId("nav-home")).click();
    await browser.waitUntil(async () => /failure rate/.test(await (await byTestId("rollout-panel-production")).getText()), { timeout: 10000 });
  } finally {
    for (const m of monitors) m.kill();
    providers.state.failTemperature = null;
    writeFileSync(policy, original);
    await serve.stop();
  }
});

uiTest("a chain that does not load says where, and comes back when fixed on disk", async () => {
  const file = path.join(chainDir, "chain.yaml");
  const original = readFileSync(file, "utf8");
  writeFileSync(file, original.replace("agents:\n", "agents:\n  - name: [broken\n"));
  try {
    await (await byTestId("nav-home")).click();
    const error = await byTestId("chain-error-content-pipeline");
    await error.waitForDisplayed({ timeout: 10000 });
    assert.match(await error.getText(), /chain\.yaml:\d+: invalid YAML/);
    await browser.saveScreenshot(path.join(artifacts, "e2e-chain-broken.png"));
  } finally {
    writeFileSync(file, original);
  }
  // Nothing else loads, so the app watches the broken chain and comes back by itself.
  await (await byTestId("env-column-production")).waitForDisplayed({ timeout: 10000 });
});

// Issue 12: a stranger's copy of the project, opened in the app. It names itself like the
// sample, so it gets an identity of its own (and the app says so); its layout sidecar is a link
// to a file outside (a ~/.bashrc stand-in), which no click may write through.
test("a hostile copy of the project: its own identity, and no write through its symlinked layout", async () => {
  const sample = path.join(process.env.CHAINLIFT_HOME, "sample/content-pipeline");
  const scratch = realpathSync(mkdtempSync(path.join(tmpdir(), "chainlift-hostile-")));
  const hostile = path.join(scratch, "acme-copy");
  cpSync(sample, hostile, { recursive: true });
  const victim = path.join(scratch, "bashrc");
  writeFileSync(victim, "export SAFE=1\n");
  const layout = path.join(hostile, "chains/content-pipeline/.chainlift-layout.json");
  rmSync(layout, { force: true });
  symlinkSync(victim, layout);
  try {
    // Opened once (as "Open folder…" would), it is among the recent projects after a reload.
    const opened = await browser.executeAsync((root, done) => {
      window.__TAURI_INTERNALS__.invoke("open_project", { path: root }).then(
        () => done("opened"),
        (e) => done(`refused: ${JSON.stringify(e)}`),
      );
    }, hostile);
    assert.equal(opened, "opened");
    await browser.refresh();
    const recent = await byTestId("recent-projects");
    await recent.waitForDisplayed({ timeout: 20000 });
    await recent.selectByAttribute("value", hostile);
    const note = await byTestId("identity-note");
    await note.waitForDisplayed({ timeout: 10000 });
    assert.match(await note.getText(), /already uses the project name `acme-content`/);
    await browser.saveScreenshot(path.join(artifacts, "e2e-hostile-identity.png"));

    await (await byTestId("nav-editor")).click();
    await (await byTestId("auto-layout")).waitForDisplayed({ timeout: 10000 });
    await (await byTestId("auto-layout")).click();
    const error = await byTestId("editor-error");
    await error.waitForDisplayed({ timeout: 10000 });
    assert.match(await error.getText(), /is a symbolic link: Chainlift does not write through links/);
    await browser.saveScreenshot(path.join(artifacts, "e2e-hostile-link.png"));
    assert.equal(readFileSync(victim, "utf8"), "export SAFE=1\n", "nothing was written through the link");

    // Back to the sample: its own identity, no note.
    await (await byTestId("nav-home")).click();
    // The same position in the list as the first pick: WebKit sends no change event for a
    // select whose value was reset by script unless it is a fresh element (the app remounts it).
    await (await byTestId("recent-projects")).selectByAttribute("value", realpathSync(sample));
    await gone("identity-note");
    await (await byTestId("env-column-production")).waitForDisplayed({ timeout: 10000 });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test("security: the webview may call the app's commands, and nothing else", async () => {
  const call = (cmd) =>
    browser.executeAsync((command, done) => {
      window.__TAURI_INTERNALS__.invoke(command, {}).then(
        () => done("allowed"),
        (e) => done(`refused: ${String(e)}`),
      );
    }, cmd);
  assert.equal(await call("recent_projects"), "allowed");
  for (const cmd of ["plugin:app|version", "plugin:window|close", "plugin:notification|notify", "plugin:shell|open"]) {
    assert.match(await call(cmd), /^refused/, `${cmd} is not reachable from the webview`);
  }
  // The CSP allows no remote origin: a reachable local server is still off limits to the page.
  const before = providers.state.requests;
  const outcome = await browser.executeAsync((url, done) => {
    let violated = "";
    document.addEventListener("securitypolicyviolation", (e) => (violated = e.violatedDirective));
    fetch(url, { method: "POST", body: "{}" }).then(
      () => done("fetched"),
      () => setTimeout(() => done(`blocked ${violated}`), 100),
    );
  }, `${providers.url}/chat/completions`);
  assert.match(outcome, /^blocked connect-src/, "the CSP blocks the page from reaching other origins");
  assert.equal(providers.state.requests, before, "the request never left the webview");
});
