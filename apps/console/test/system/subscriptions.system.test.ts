/**
 * Webhook subscriptions and deliveries in the console, in a real headless Chromium: the console,
 * ingest and consumer Workers in one `wrangler dev` (./system.ts: ENVIRONMENT=development, so
 * http://127.0.0.1 receivers are allowed; a key of this suite's own), delivering to real HTTP
 * receivers started here. The retry schedule is shortened to one retry after 1 s.
 */
import type { System } from '@triggers/tooling/system';
import { type Receiver, startReceiver, verifyWebhook } from '@triggers/tooling/webhook';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, openBrowser } from './browser.ts';
import { focused, openView, sendTestEvent, signIn, tabTo, violationsInBothSchemes } from './console-page.ts';
import { consoleSystem } from './system.ts';

/** Accepting, storing (1 s batches) and delivering take a few seconds; a loaded machine more. */
const SETTLE_MS = 45_000;
/** Attempts in one round: the first, and one retry after 1 s. */
const ATTEMPTS_PER_ROUND = 2;

let system: System<'test'>;
let browser: Browser;
/** Answers 200 with a short body. */
let working: Receiver;
/** Answers 500 to the whole first round, 200 afterwards. */
let flaky: Receiver;
/** Answers 500 until `recovered` is set (an endpoint's outage), 200 afterwards. */
let down: Receiver;
let recovered = false;
let workingUrl = '';
let flakyUrl = '';
/** The secret the console showed when the working receiver's subscription was created. */
let shownSecret = '';
let eventId = '';

beforeAll(async () => {
  [working, down, flaky] = await Promise.all([
    startReceiver({ respond: () => ({ status: 200, body: 'thanks from the receiver' }) }),
    startReceiver({
      respond: () => (recovered ? { status: 200, body: 'back' } : { status: 500, body: 'down' }),
    }),
    startReceiver({
      respond: (_, index) =>
        index < ATTEMPTS_PER_ROUND ? { status: 500, body: 'not yet' } : { status: 200, body: 'ok now' },
    }),
  ]);
  workingUrl = `${working.url}/hook`;
  flakyUrl = `${flaky.url}/hook`;
  system = await consoleSystem('console subscription tests');
  browser = await openBrowser();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: new URL(system.url).origin,
  });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([working?.stop(), flaky?.stop(), down?.stop()]);
});

/** The list's row of the subscription to `url`. */
const row = (page: Page, url: string) =>
  page.locator('tr[data-subscription-id]', { has: page.getByRole('cell', { name: url, exact: true }) });

/** The event page's delivery to `url`. */
const delivery = (page: Page, url: string) =>
  page.locator('article.delivery', { has: page.getByRole('heading', { name: url, exact: true }) });

describe('subscriptions in the console', () => {
  it('lists Subscriptions in the navigation and opens it with focus on its heading', async () => {
    const { page } = browser;
    await signIn(page, system.url, system.keys.test);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await openView(page, 'Subscriptions');
    await expect.poll(() => focused(page)).toBe('Subscriptions');
    await page.getByText('No subscriptions yet').waitFor();
  });

  it('shows the API’s refusals of a metadata URL next to the URL field, with focus on it, and creates nothing', async () => {
    const { page } = browser;
    const field = page.getByLabel('Endpoint URL');
    const problem = page.locator('#subscription-url-problem');
    const create = page.getByRole('button', { name: 'Create subscription' });
    // Plain http is refused first (allowed only for 127.0.0.1 and localhost in development), …
    await field.fill('http://169.254.169.254/');
    await create.click();
    await expect
      .poll(() => problem.textContent())
      .toBe('This URL must use https (http is allowed for 127.0.0.1 and localhost in local development).');
    // … and over https the address itself (link-local: where cloud metadata services answer).
    await field.fill('https://169.254.169.254/latest/meta-data/');
    await create.click();
    await expect
      .poll(() => problem.textContent())
      .toBe(
        'This URL must target a public address, not a link-local (where cloud metadata services answer) one.',
      );
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await field.getAttribute('aria-describedby')).toContain('subscription-url-problem');
    expect(await focused(page)).toBe('input url=https://169.254.169.254/latest/meta-data/');
    expect(await page.getByText('No subscriptions yet').count()).toBe(1);
    expect(await violationsInBothSchemes(page)).toEqual({});
    await browser.screenshot('subscriptions-ssrf');
  });

  it('creates a subscription by keyboard alone and shows its secret once, with a working Copy button', async () => {
    const { page } = browser;
    // Focus is still on the URL field the refusal pointed at.
    await page.keyboard.press('Control+A');
    await page.keyboard.type(workingUrl);
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('input event_types=');
    await page.keyboard.press('Enter');

    await expect.poll(() => focused(page)).toBe(`Signing secret of ${workingUrl}`);
    await page.getByText('You will not see this secret again.').waitFor();
    shownSecret = await page.getByRole('textbox', { name: 'Signing secret', exact: true }).inputValue();
    expect(shownSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await violationsInBothSchemes(page)).toEqual({});
    await browser.screenshot('subscriptions-secret');

    await tabTo(page, 'Copy');
    await page.keyboard.press('Enter');
    await page.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shownSecret);

    await tabTo(page, 'I have stored it: hide the secret');
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toBe('Your subscriptions');
    expect(await page.content()).not.toContain(shownSecret);
    expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }))).not.toContain(
      'whsec_',
    );

    const created = row(page, workingUrl);
    await created.waitFor();
    const text = await created.textContent();
    expect(text).toContain('All events');
    expect(text).toContain('Enabled');
    expect(text).toContain(`${shownSecret.slice(0, 10)}`);
  });

  it('creates a second subscription with event types, listed as typed', async () => {
    const { page } = browser;
    await page.getByLabel('Endpoint URL').fill(flakyUrl);
    await page.getByLabel('Event types (optional)').fill('triggers.event, order.*');
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.getByRole('button', { name: 'I have stored it: hide the secret' }).click();
    await expect.poll(() => row(page, flakyUrl).textContent()).toContain('triggers.event, order.*');
  });

  it('sends a test event and shows its deliveries on the event page: one succeeded, signed with the secret shown', async () => {
    const { page } = browser;
    eventId = await sendTestEvent(page, '');
    await expect
      .poll(() => page.getByTestId('follow-state').getAttribute('data-status'), { timeout: SETTLE_MS })
      .toBe('delivered');
    await page.getByRole('link', { name: eventId.slice(0, 8) }).click();
    await page.getByRole('heading', { name: 'Webhook deliveries' }).waitFor();

    const succeeded = delivery(page, workingUrl);
    await expect
      .poll(() => succeeded.getByTestId('delivery-status').textContent(), { timeout: SETTLE_MS })
      .toBe('Succeeded');
    const attempts = succeeded.getByRole('region', { name: `Attempts to ${workingUrl}` });
    expect(await attempts.locator('tbody tr').count()).toBe(1);
    const cells = await attempts.locator('tbody tr td').allTextContents();
    expect(cells[2]).toBe('HTTP 200');
    expect(cells[3]).toMatch(/^\d+ ms$/);
    expect(cells[4]).toBe('thanks from the receiver');
    expect(await succeeded.getByRole('button', { name: /Retry delivery/ }).count()).toBe(0);

    // The secret the console showed is the one the webhook is signed with.
    expect(working.received).toHaveLength(1);
    const body = verifyWebhook(shownSecret, working.received[0] as (typeof working.received)[0]);
    expect(body).toMatchObject({ event_id: eventId });
  });

  it('retries a failed delivery from the event page, and sees the new round succeed', async () => {
    const { page } = browser;
    const failing = delivery(page, flakyUrl);
    await expect
      .poll(() => failing.getByTestId('delivery-status').textContent(), { timeout: SETTLE_MS })
      .toBe('Failed');
    const attempts = failing.getByRole('region', { name: `Attempts to ${flakyUrl}` });
    expect(await attempts.locator('tbody tr').count()).toBe(ATTEMPTS_PER_ROUND);
    expect(await attempts.locator('tbody tr td:nth-child(3)').allTextContents()).toEqual(
      Array(ATTEMPTS_PER_ROUND).fill('HTTP 500'),
    );
    expect(await violationsInBothSchemes(page)).toEqual({});
    await browser.screenshot('event-deliveries-failed');

    await failing.getByRole('button', { name: `Retry delivery to ${flakyUrl}` }).click();
    await page.getByText(`Retrying the delivery to ${flakyUrl}: a new round started.`).waitFor();
    await expect
      .poll(() => failing.getByTestId('delivery-status').textContent(), { timeout: SETTLE_MS })
      .toBe('Succeeded');
    expect(await failing.textContent()).toContain('Round 2 (retried by hand)');
    expect(await attempts.locator('tbody tr td:nth-child(3)').allTextContents()).toEqual([
      ...Array(ATTEMPTS_PER_ROUND).fill('HTTP 500'),
      'HTTP 200',
    ]);
    await browser.screenshot('event-deliveries');
  });

  it('rotates a secret after a confirmation, shows the new one once and says the old one signs 24 h more', async () => {
    const { page } = browser;
    await openView(page, 'Subscriptions');
    await row(page, workingUrl)
      .getByRole('button', { name: `Rotate secret of ${workingUrl}` })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Rotate the signing secret?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('The current one keeps signing beside it');
    expect(await focused(page)).toBe('Cancel');
    await dialog.getByRole('button', { name: 'Rotate secret' }).click();

    await expect.poll(() => focused(page)).toBe(`Signing secret of ${workingUrl}`);
    const rotated = await page.getByRole('textbox', { name: 'Signing secret', exact: true }).inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(shownSecret);
    expect(await page.locator('.secret').textContent()).toContain(
      'The previous secret keeps signing for 24 hours',
    );
    await page.getByRole('button', { name: 'I have stored it: hide the secret' }).click();
    expect(await page.content()).not.toContain(rotated);
  });

  it('disables a subscription, showing why, and enables it again', async () => {
    const { page } = browser;
    await row(page, workingUrl)
      .getByRole('button', { name: `Disable ${workingUrl}` })
      .click();
    await expect.poll(() => row(page, workingUrl).textContent()).toContain('Disabled');
    expect(await row(page, workingUrl).textContent()).toContain('disabled through the API');
    await page.getByText(`Disabled ${workingUrl}: it gets no new deliveries.`).waitFor();
    expect(await violationsInBothSchemes(page)).toEqual({});
    await browser.screenshot('subscriptions');

    await row(page, workingUrl)
      .getByRole('button', { name: `Enable ${workingUrl}` })
      .click();
    await expect.poll(() => row(page, workingUrl).textContent()).toContain('Enabled');
  });

  it('deletes a subscription only once confirmed: Escape cancels, the confirming button deletes', async () => {
    const { page } = browser;
    const remove = row(page, flakyUrl).getByRole('button', { name: `Delete ${flakyUrl}` });
    await remove.click();
    const dialog = page.getByRole('dialog', { name: 'Delete this subscription?' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focused(page)).toBe('Delete');
    expect(await row(page, flakyUrl).count()).toBe(1);

    await remove.click();
    await dialog.getByRole('button', { name: 'Delete subscription' }).click();
    await expect.poll(() => row(page, flakyUrl).count()).toBe(0);
    await page.getByText(`Deleted the subscription to ${flakyUrl}.`, { exact: false }).waitFor();
    expect(await focused(page)).toBe('Your subscriptions');
    expect(await row(page, workingUrl).count()).toBe(1);
  });

  it('tries a filter and a transformation live on the latest stored event while they are typed, before creating', async () => {
    const { page } = browser;
    const summary = page.getByTestId('trial-summary');
    const filter = page.getByLabel('Filter (optional)');
    const transform = page.getByLabel('Transformation (optional)');
    const item = page.locator(`.trial-results li[data-event-id="${eventId}"]`);
    // The key's stream holds two events: the one it sent, and the triggers.delivery.exhausted
    // that the flaky receiver's failed first round added. Without rules, both would be delivered.
    await expect
      .poll(() => summary.textContent(), { timeout: SETTLE_MS })
      .toBe('2 of your latest 2 events would be delivered.');
    await filter.fill('{"payload.from": "browser"}');
    await transform.fill('{"from": payload.from, "kind": type}');
    await expect
      .poll(() => item.getByRole('region', { name: `Body for ${eventId.slice(0, 8)}` }).textContent())
      .toBe(JSON.stringify({ from: 'browser', kind: 'triggers.event' }, null, 2));
    expect(await item.textContent()).toContain('Delivered');

    await filter.fill('{"payload.from": "someone else"}');
    await expect.poll(() => summary.textContent()).toBe('0 of your latest 2 events would be delivered.');
    expect(await item.textContent()).toContain('left out by its filter');

    // The API's refusal of an unknown operator shows under the filter, naming where it is.
    await filter.fill('{"payload.from": {"$gtx": 1}}');
    await expect
      .poll(() => page.locator('#subscription-filter-problem').textContent())
      .toMatch(/^The filter at payload\.from\.\$gtx is not an operator of a condition/);
    expect(await filter.getAttribute('aria-invalid')).toBe('true');
    expect(await summary.textContent()).toBe('Fix the rules above to try them.');
    await filter.fill('{"payload.from": ');
    await expect
      .poll(() => page.locator('#subscription-filter-problem').textContent())
      .toBe('The filter is not JSON yet.');
    // A transformation failing on the event: the error it would be delivered with, in JSONata's words.
    await filter.fill('');
    await transform.fill('$number(payload.from)');
    await expect
      .poll(() => item.locator('.field-error').textContent())
      .toMatch(/^transformation failed: D3030/);
    expect(await violationsInBothSchemes(page)).toEqual({});
    await browser.screenshot('subscriptions-try-it');
    await transform.fill('');
  });

  it('recovers a subscription’s failed deliveries since a time from the list, once each', async () => {
    const { page } = browser;
    const downUrl = `${down.url}/hook`;
    await page.getByLabel('Endpoint URL').fill(downUrl);
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.getByRole('button', { name: 'I have stored it: hide the secret' }).click();
    await row(page, downUrl).waitFor();
    const failedId = await sendTestEvent(page, '');
    await expect
      .poll(() => page.getByTestId('follow-state').getAttribute('data-status'), { timeout: SETTLE_MS })
      .toBe('delivered');
    await page.getByRole('link', { name: failedId.slice(0, 8) }).click();
    await expect
      .poll(() => delivery(page, downUrl).getByTestId('delivery-status').textContent(), {
        timeout: SETTLE_MS,
      })
      .toBe('Failed');
    expect(down.received).toHaveLength(ATTEMPTS_PER_ROUND);

    recovered = true;
    await openView(page, 'Subscriptions');
    await row(page, downUrl)
      .getByRole('button', { name: `Recover failed deliveries to ${downUrl}` })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Recover failed deliveries?' });
    await dialog.waitFor();
    // Since a day ago by default.
    const since = Date.parse(await dialog.getByLabel('Failed since').inputValue());
    expect(Math.abs(since - (Date.now() - 86_400_000))).toBeLessThan(120_000);
    expect(await violationsInBothSchemes(page)).toEqual({});
    await dialog.getByRole('button', { name: 'Recover deliveries' }).click();
    await page
      .getByText(`Recovering 1 failed delivery to ${downUrl}: each starts a new round of attempts now.`)
      .waitFor();
    await down.waitFor(ATTEMPTS_PER_ROUND + 1, SETTLE_MS);
    const body = JSON.parse(down.received[ATTEMPTS_PER_ROUND]?.body ?? '{}');
    expect(body.event_id).toBe(failedId);

    // Again: nothing failed is left in the window, and nothing is sent twice.
    await row(page, downUrl)
      .getByRole('button', { name: `Recover failed deliveries to ${downUrl}` })
      .click();
    await dialog.getByRole('button', { name: 'Recover deliveries' }).click();
    await page.getByText(`No failed deliveries to ${downUrl} since then.`).waitFor();
    expect(down.received).toHaveLength(ATTEMPTS_PER_ROUND + 1);
  });

  it('fits a phone screen: the list scrolls inside its own region, the page does not', async () => {
    const { page } = browser;
    await page.setViewportSize({ width: 390, height: 844 });
    await row(page, workingUrl).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await browser.screenshot('subscriptions-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('asks nothing of any other origin and breaks no rule of its Content-Security-Policy', () => {
    const origin = new URL(system.url).origin;
    expect(browser.requests.filter((url) => new URL(url).origin !== origin)).toEqual([]);
    expect(browser.problems).toEqual([]);
  });
});
