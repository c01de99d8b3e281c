import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, it } from 'node:test';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { RoomService } from '../../lib/index.js';
import { RoomsServer } from '../../lib/rooms.server.js';
import { createSampleApp } from '../bootstrap.js';

/**
 * The sample's page in headless Chromium (Debian's `chromium` package, driven by playwright-core):
 * what a person does in the browser, end to end. Run by `npm run test:browser`, not by `npm test`.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];
const ARTIFACTS = resolve('.artifacts');

let app: NestExpressApplication;
let base: string;
let browser: Browser;
/** Uncaught errors of the page's own script, in any tab. */
const pageErrors: string[] = [];

before(async () => {
  app = await createSampleApp({ logger: false });
  await app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  // Playwright gives every launch a fresh, temporary profile (`--user-data-dir`) of its own.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  await mkdir(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await app?.close();
});

/** A person in their own browser profile. */
function person(): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1000, height: 540 } });
}

/** Opens the page in a new tab of `context` and picks `name`. */
async function enter(context: BrowserContext, name: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  await page.goto(`${base}/`);
  await page.getByLabel('Pick a name').fill(name);
  await page.getByRole('button', { name: 'Enter' }).click();
  await page.locator('#me').filter({ hasText: name }).waitFor();
  return page;
}

const logEntry = (page: Page, text: string) => page.locator('#log li').filter({ hasText: text });
const roomItem = (page: Page, room: string) => page.locator(`#rooms li[data-room="${room}"]`);
const memberCount = (page: Page, room: string, count: number) =>
  roomItem(page, room)
    .locator('.count')
    .filter({ hasText: new RegExp(`^${count}$`) });

async function write(page: Page, text: string): Promise<void> {
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.fill(text);
  await input.press('Enter');
}

async function notify(path: string, text: string): Promise<unknown> {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  assert.equal(response.status, 202);
  return response.json();
}

it('two people chat in a room, whisper, get notified, and see each other leave', async () => {
  const annContext = await person();
  const bobContext = await person();
  const ann = await enter(annContext, 'ann');
  const bob = await enter(bobContext, 'bob');

  // Join the lobby; both pages show its live member count.
  await roomItem(ann, 'lobby').getByRole('button', { name: 'Join' }).click();
  await memberCount(bob, 'lobby', 1).waitFor();
  await roomItem(bob, 'lobby').getByRole('button', { name: 'Join' }).click();
  await memberCount(ann, 'lobby', 2).waitFor();
  await memberCount(bob, 'lobby', 2).waitFor();
  await logEntry(ann, 'bob joined').waitFor();
  // Who is in the lobby, from presence: a line per person.
  for (const name of ['ann', 'bob'])
    await roomItem(ann, 'lobby').locator(`.present li[data-person="${name}"]`).waitFor();

  // Chat: bob gets ann's line; ann's reply from bob arrives after any echo would have.
  await write(ann, 'hello bob');
  await logEntry(bob, 'hello bob').waitFor();
  await write(bob, 'hi ann!');
  await logEntry(ann, 'hi ann!').waitFor();
  assert.equal(await logEntry(ann, 'hello bob').count(), 1, 'ann sees her own line once: drawn locally, no echo');

  // A private message: bob picks ann in the people list (her socket id) and writes.
  await bob.locator('#people li').getByRole('button', { name: 'ann' }).click();
  await write(bob, 'psst, just you');
  await logEntry(ann, 'psst, just you').filter({ hasText: 'private from bob' }).waitFor();

  // Entity room: bob follows project 42, and an HTTP notify reaches him.
  await bob.getByRole('textbox', { name: 'Project id' }).fill('42');
  await bob.getByRole('button', { name: 'Follow' }).click();
  await bob.locator('#projects li[data-project="42"]').waitFor();
  assert.deepEqual(await notify('/projects/42/notify', 'build passed'), { delivered: 1 });
  await logEntry(bob, 'build passed').filter({ hasText: 'project 42' }).waitFor();

  // Per-user room: a second tab of bob; a notification for bob reaches both tabs, once each.
  const bobAgain = await enter(bobContext, 'bob');
  await bob.locator('#people li').nth(2).waitFor(); // ann, bob, bob
  assert.deepEqual(await notify('/users/bob/notify', 'your report is ready'), { delivered: 2 });
  for (const tab of [bob, bobAgain]) await logEntry(tab, 'your report is ready').waitFor();
  await ann.screenshot({ path: join(ARTIFACTS, 'chat-ann.png') });

  // Closing ann's tab: the lobby hears she left, and its count drops.
  await ann.close();
  await logEntry(bob, 'ann left').waitFor();
  await memberCount(bob, 'lobby', 1).waitFor();
  assert.equal(await logEntry(bob, 'your report is ready').count(), 1);
  assert.equal(await logEntry(bobAgain, 'your report is ready').count(), 1);
  await bob.screenshot({ path: join(ARTIFACTS, 'chat-bob.png') });

  await annContext.close();
  await bobContext.close();
  assert.deepEqual(pageErrors, []);
});

it('a tab cut off from the server shows it, comes back recovered, and shows the message it missed', async () => {
  const annContext = await person();
  const bobContext = await person();
  const ann = await enter(annContext, 'ann');
  const bob = await enter(bobContext, 'bob');
  for (const page of [ann, bob]) await roomItem(page, 'lobby').getByRole('button', { name: 'Join' }).click();
  await memberCount(ann, 'lobby', 2).waitFor();
  await memberCount(bob, 'lobby', 2).waitFor();
  await bob
    .locator('#status')
    .filter({ hasText: /^connected$/ })
    .waitFor();

  // The server cuts bob's TCP connection (no close frame), as a network drop would.
  const rooms = app.get(RoomsServer);
  const [bobSocket] = await app.get(RoomService).in('user:bob').fetchSockets();
  (rooms.registry.getMember(bobSocket.id) as unknown as { _socket: { destroy(): void } })._socket.destroy();
  await bob.locator('#status').filter({ hasText: 'reconnecting…' }).waitFor();
  // Ann writes while bob's tab is away.
  await write(ann, 'did you get this?');
  await bob
    .locator('#status')
    .filter({ hasText: /^recovered$/ })
    .waitFor();
  await logEntry(bob, 'did you get this?').waitFor();
  assert.equal(await logEntry(bob, 'did you get this?').count(), 1, 'the missed message once');
  // Still in the lobby, under the same name: the chat goes on.
  await write(bob, 'back again');
  await logEntry(ann, 'back again').waitFor();
  await bob.screenshot({ path: join(ARTIFACTS, 'chat-recovered.png') });

  await annContext.close();
  await bobContext.close();
  assert.deepEqual(pageErrors, []);
});
