// The app on a team's PostgreSQL history (DESIGN.md §11), under Xvfb over WebDriver: it says
// which history is open, a deploy by the CLI shows on Home while it is open, and a rollback
// clicked in the app is what the CLI sees next. Run beside a throwaway PostgreSQL
// (scripts/with-postgres.sh) with CHAINLIFT_DATABASE_URL naming an empty database.
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { endSession, startSession } from "./driver.mjs";

const app = process.env.CHAINLIFT_APP;
const cli = process.env.CHAINLIFT_CLI;
const url = process.env.CHAINLIFT_DATABASE_URL;
const artifacts = process.env.ARTIFACTS_DIR ?? path.resolve("artifacts");
assert.ok(app && path.isAbsolute(app), "CHAINLIFT_APP must be the absolute path of chainlift-app");
assert.ok(cli, "CHAINLIFT_CLI must name the chainlift binary");
assert.ok(process.env.CHAINLIFT_HOME, "CHAINLIFT_HOME must point at a scratch data folder");
assert.ok(url?.startsWith("postgres://"), "CHAINLIFT_DATABASE_URL must name an empty PostgreSQL database");

let session = {};
const byTestId = (id) => session.browser.$(`[data-testid="${id}"]`);
const sampleRoot = path.join(process.env.CHAINLIFT_HOME, "sample/content-pipeline");
const chainlift = (args) => execFileSync(cli, args, { cwd: sampleRoot, encoding: "utf8" });

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  // WebKit's composited path, as in app.e2e.mjs: without it a screenshot may never return.
  process.env.WEBKIT_DISABLE_COMPOSITING_MODE ??= "0";
  session = await startSession({ app, port: 4444, artifacts });
});

after(async () => {
  await endSession(session);
});

test("postgres: the app names the shared history and follows the CLI's deploys both ways", async () => {
  const badge = await byTestId("history-badge");
  await badge.waitForExist({ timeout: 20000 });
  const { hostname, port, pathname } = new URL(url);
  assert.equal((await badge.getProperty("textContent")).trim(), `PostgreSQL · ${hostname}:${port}${pathname}`);
  assert.doesNotMatch(await badge.getAttribute("title"), /password/);

  // The CLI deploys v1 then v2 to dev while the app is open: Home follows without a reload.
  chainlift(["version", "create", "content-pipeline", "--tag", "v1"]);
  chainlift(["deploy", "content-pipeline", "--version", "v1", "--env", "dev"]);
  appendFileSync(path.join(sampleRoot, "chains/content-pipeline/chain.yaml"), "\n# v2\n");
  chainlift(["version", "create", "content-pipeline", "--tag", "v2"]);
  chainlift(["deploy", "content-pipeline", "--version", "v2", "--env", "dev"]);
  const deployed = await byTestId("deployed-version-dev");
  await session.browser.waitUntil(async () => (await deployed.getText()) === "v2", {
    timeout: 10000,
    timeoutMsg: "Home never showed the CLI's deploy of v2",
  });

  // A rollback clicked in the app is the history the CLI reads next.
  await (await byTestId("rollback-dev")).click();
  await (await byTestId("confirm-button")).click();
  await session.browser.waitUntil(async () => (await deployed.getText()) === "v1", { timeout: 10000 });
  const audit = JSON.parse(chainlift(["audit", "--format", "json"]));
  assert.equal(audit[0].action, "rollback", JSON.stringify(audit[0]));
  assert.equal(JSON.parse(chainlift(["audit", "--verify", "--format", "json"])).ok, true);
  const db = JSON.parse(chainlift(["db", "status", "--format", "json"]));
  assert.equal(db.engine, "PostgreSQL");
  await session.browser.saveScreenshot(path.join(artifacts, "e2e-postgres-home.png"));
});
