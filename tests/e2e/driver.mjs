// tauri-driver for the end-to-end tests: started in its own process group (WebKitWebDriver and
// the app it starts must neither hold the test's pipes open nor outlive the tests), its output
// in the artifacts folder, and a WebDriver session on the app.
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import path from "node:path";
import { remote } from "webdriverio";

async function waitForDriver(port) {
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

/** A WebDriver session on `app` through the driver on `port` (a new one starts the app anew). */
export function openBrowser({ app, port }) {
  const capabilities = {
    "tauri:options": { application: app },
    "wdio:enforceWebDriverClassic": true,
  };
  return remote({ hostname: "127.0.0.1", port, logLevel: "warn", capabilities });
}

/** Start tauri-driver on `port` and open a session on `app`: `{ driver, browser }`. */
export async function startSession({ app, port, artifacts }) {
  const log = openSync(path.join(artifacts, "tauri-driver.log"), "a");
  const driver = spawn("tauri-driver", ["--port", String(port)], { stdio: ["ignore", log, log], detached: true });
  await waitForDriver(port);
  return { driver, browser: await openBrowser({ app, port }) };
}

/** End the session and the driver's whole process group. */
export async function endSession({ driver, browser }) {
  if (browser) await browser.deleteSession().catch(() => {});
  if (driver) {
    try {
      process.kill(-driver.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}
