// Not a test: opens the app on an existing data folder (CHAINLIFT_HOME) and saves a screenshot
// of every screen into SHOTS (default ./shots), to look at them. With GTK_THEME=Adwaita:dark the
// webview reports a dark OS theme, so the same run shows the dark look.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { remote } from "webdriverio";

const port = 4447;
const out = process.env.SHOTS ?? "shots";
const suffix = process.env.SHOT_SUFFIX ?? "";
mkdirSync(out, { recursive: true });
// Screenshots need WebKit's composited path (see app.e2e.mjs).
process.env.WEBKIT_DISABLE_COMPOSITING_MODE ??= "0";
const driver = spawn("tauri-driver", ["--port", String(port)], { stdio: "ignore" });
await new Promise((r) => setTimeout(r, 1500));
const browser = await remote({
  hostname: "127.0.0.1",
  port,
  logLevel: "warn",
  capabilities: { "tauri:options": { application: process.env.CHAINLIFT_APP }, "wdio:enforceWebDriverClassic": true },
});
try {
  await (await browser.$('[data-testid="run-button"]')).waitForDisplayed({ timeout: 20000 });
  for (const screen of ["home", "editor", "environments", "runs", "gates", "promotion", "versions"]) {
    if (screen === "promotion") {
      // The newest promotion, opened from its home cell.
      await (await browser.$('[data-testid="nav-home"]')).click();
      const links = await browser.$$("button.link");
      if (links.length > 0) await links[links.length - 1].click();
    } else {
      await (await browser.$(`[data-testid="nav-${screen}"]`)).click();
    }
    await new Promise((r) => setTimeout(r, 1500));
    await browser.saveScreenshot(path.join(out, `${screen}${suffix}.png`));
  }
} finally {
  await browser.deleteSession().catch(() => {});
  driver.kill();
}
