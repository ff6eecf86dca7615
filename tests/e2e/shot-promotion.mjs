// Not a test: opens the app on an existing data folder, opens the newest promotion from the home
// screen and saves a screenshot (used to look at the promotion screen while building it).
import { spawn } from "node:child_process";
import { remote } from "webdriverio";

const driver = spawn("tauri-driver", ["--port", "4447"], { stdio: "ignore" });
await new Promise((r) => setTimeout(r, 1500));
const browser = await remote({
  hostname: "127.0.0.1",
  port: 4447,
  logLevel: "warn",
  capabilities: { "tauri:options": { application: process.env.CHAINLIFT_APP }, "wdio:enforceWebDriverClassic": true },
});
try {
  const link = await browser.$("button.link");
  await link.waitForDisplayed({ timeout: 20000 });
  await link.click();
  await (await browser.$('[data-testid="approve-button"]')).waitForDisplayed({ timeout: 20000 });
  await browser.saveScreenshot(process.env.SHOT ?? "promotion.png");
} finally {
  await browser.deleteSession().catch(() => {});
  driver.kill();
}
