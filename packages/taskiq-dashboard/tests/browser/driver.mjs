// A browser a Python test drives line by line: one JSON command on stdin, one JSON
// answer on stdout ({"ok": true, "value": ...} or {"ok": false, "error": "..."}).
// Debian's Chromium, headless; every dialog (the dashboard's confirms) is accepted
// and its text remembered for the "dialogs" command.
import { chromium } from "playwright-core";
import readline from "node:readline";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const page = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
const dialogs = [];
const consoleErrors = [];
page.on("dialog", (dialog) => { dialogs.push(dialog.message()); dialog.accept(); });
page.on("console", (message) => { if (message.type() === "error") consoleErrors.push(message.text()); });

const commands = {
  goto: async ({ url }) => { const response = await page.goto(url); return response.status(); },
  url: async () => page.url(),
  text: async ({ selector }) => page.locator(selector).first().innerText(),
  count: async ({ selector }) => page.locator(selector).count(),
  waitText: async ({ selector, pattern, timeout }) => {
    const regex = new RegExp(pattern);
    await page.waitForFunction(
      ([sel, source]) => {
        const element = document.querySelector(sel);
        return element !== null && new RegExp(source).test(element.innerText);
      },
      [selector, regex.source],
      { timeout: timeout ?? 30000, polling: 100 },
    );
    return page.locator(selector).first().innerText();
  },
  click: async ({ selector }) => { await page.locator(selector).first().click(); return true; },
  check: async ({ selector }) => { await page.locator(selector).first().check(); return true; },
  fill: async ({ selector, value }) => { await page.locator(selector).first().fill(value); return true; },
  screenshot: async ({ path }) => { await page.screenshot({ path, fullPage: true }); return path; },
  dialogs: async () => dialogs.splice(0),
  consoleErrors: async () => consoleErrors.splice(0),
};

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line);
  if (command.op === "close") break;
  let answer;
  try {
    answer = { ok: true, value: await commands[command.op](command) };
  } catch (error) {
    answer = { ok: false, error: String(error && error.message ? error.message : error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await browser.close();
