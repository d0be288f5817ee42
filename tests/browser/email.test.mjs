// Email, in the browser: where mail goes out (an SES stand-in, jobs on moto's SQS), a closed
// conversation's view offers its transcript by email; the store asks, is told it is on its
// way, and the mail arrives with the conversation in it and a one-click unsubscribe; asked
// again, it says the transcript was sent.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { resolve } from "node:path";
import { after, before, test } from "node:test";

import { ROOT, call, launchChromium, startGateway, startShop, waitForText } from "./harness.mjs";

const SCREENSHOTS = `${resolve(ROOT, process.env.SCREENSHOTS ?? "target/screenshots")}/`;

/** A stand-in of the workspace's (`target/debug/<name>`), once it prints `ready` and its URL. */
async function startStandIn(name, ready) {
  const child = spawn(resolve(ROOT, `target/debug/${name}`), ["--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolveUrl, reject) => {
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
    lines.on("line", (line) => {
      const found = line.match(new RegExp(`^${ready} (http://\\S+)`));
      if (found) resolveUrl(found[1]);
    });
  });
  lines.on("line", () => {});
  return { url, stop: () => child.kill("SIGTERM") };
}

/** The mails the stand-in holds for `address`, once there are `count`: it tells no one. */
async function mailsTo(ses, address, count) {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const { emails } = await (await fetch(`${ses.url}/store`)).json();
    const mails = emails.filter((mail) => mail.destination.to.includes(address));
    if (mails.length >= count) return mails;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${address} got fewer than ${count} mails`);
}

let browser, moto, ses, gateway;
before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [moto, ses] = await Promise.all([startStandIn("moto-local", "moto ready:"), startStandIn("ses-local", "SES ready:")]);
  gateway = await startGateway([
    "--queue-endpoint", moto.url, "--ses-endpoint", ses.url, "--digest-after-seconds", "1",
    "--table", `browser-email-${process.pid}`,
  ]);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await gateway?.stop();
  ses?.stop();
  moto?.stop();
});

test("a closed conversation's transcript, by email, on request", async () => {
  const shop = await startShop(gateway);
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  await page.goto(shop.url);
  const widget = page.locator("support-chat");
  await widget.getByTestId("composer-input").fill("Can I return the blue one?");
  await widget.getByTestId("composer-input").press("Enter");
  // Stored: the message is no longer pending.
  await widget.locator("[data-testid=message]:not([data-pending])").first().waitFor();
  const session = await call(gateway, gateway.store_token, "GET", "/v1/chat/store/session/current/");
  const id = session.session.id;
  await call(gateway, gateway.admin_token, "POST", "/v1/chat/admin/session/claim/", { session_id: id });
  await call(gateway, gateway.admin_token, "POST", "/v1/chat/admin/messages/", { session_id: id, content: "Yes, within 30 days." });
  await waitForText(widget.locator("[data-testid=message] [data-testid=content]"), "Yes, within 30 days.");
  await call(gateway, gateway.admin_token, "POST", "/v1/chat/admin/session/close/", { session_id: id });

  const ask = widget.getByTestId("email-transcript");
  await ask.waitFor();
  assert.equal(await ask.textContent(), "Email me the transcript");
  await ask.click();
  await waitForText(widget.getByTestId("transcript-status"), "The transcript is on its way to your inbox.");
  assert.equal(await ask.isHidden(), true);
  await page.screenshot({ path: `${SCREENSHOTS}widget-transcript.png` });

  const [mail] = await mailsTo(ses, "store@example.com", 1);
  assert.equal(mail.subject, "Your conversation with support");
  assert.match(mail.body.text, /Can I return the blue one\?[\s\S]*Yes, within 30 days\./);
  assert.equal(mail.headers.find((h) => h.name === "List-Unsubscribe-Post").value, "List-Unsubscribe=One-Click");
  // The stand-in's own page shows it, as a developer would look at it.
  const viewer = await context.newPage();
  await viewer.goto(`${ses.url}/`);
  await viewer.getByRole("button", { name: "Toggle HTML view" }).first().click();
  await viewer.frameLocator("iframe").first().getByText("Yes, within 30 days.").waitFor();
  await viewer.screenshot({ path: `${SCREENSHOTS}mail-transcript.png`, fullPage: true });

  // Asked again after a reload: it was sent.
  await page.reload();
  await widget.getByTestId("email-transcript").click();
  await waitForText(widget.getByTestId("transcript-status"), "The transcript was already sent to you.");
  await context.close();
  await shop.stop();
});
