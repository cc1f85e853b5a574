/**
 * The console as a person uses it: a real headless Chromium against the console, ingest and
 * consumer Workers running locally in one `wrangler dev` (./system.ts: real queues, D1 and KV; a
 * key of this suite's own).
 * Each main view is also saved as a screenshot in test-output/ on every run.
 */
import type { System } from '@triggers/tooling/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, type Browser, openBrowser } from './browser.ts';
import { focused, openView, sendTestEvent, signIn as signInAt, tabTo } from './console-page.ts';
import { consoleSystem } from './system.ts';

let system: System<'test'>;
let browser: Browser;
let testKey: string;
/** The event the Send view followed to `delivered`. */
let deliveredId = '';

/** Events take up to the harness's batch timeout (1 s) to be stored, and a retry or two. */
const SETTLE_MS = 45_000;

beforeAll(async () => {
  system = await consoleSystem('console tests');
  testKey = system.keys.test;
  browser = await openBrowser();
});

afterAll(async () => {
  await browser?.close();
});

const signIn = (page: Browser['page'], key: string) => signInAt(page, system.url, key);

describe('the console in a browser', () => {
  it('refuses a wrong key with a clear message, and keeps nothing', async () => {
    const { page } = browser;
    await signIn(page, 'sk_test_this_key_does_not_exist');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('This API key was not accepted');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'Sign in to the Triggers console',
    );
    expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
    await browser.screenshot('sign-in-refused');
  });

  it('signs in with a test key, kept in sessionStorage only, and shows the overview', async () => {
    const { page } = browser;
    await signIn(page, testKey);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Last hour' }).waitFor();
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([testKey]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(page.url()).not.toContain(testKey);
    expect(browser.requests.some((url) => url.includes(testKey))).toBe(false);
  });

  it('sends a test event and follows it until it is delivered', async () => {
    const { page } = browser;
    const eventId = await sendTestEvent(page, '');
    deliveredId = eventId;
    await expect
      .poll(() => page.getByTestId('follow-state').getAttribute('data-status'), { timeout: SETTLE_MS })
      .toBe('delivered');
    await browser.screenshot('send-test-event');

    await page.getByRole('link', { name: eventId.slice(0, 8) }).click();
    await page.getByRole('heading', { name: `Event ${eventId}` }).waitFor();
    expect(await page.getByTestId('event-status').textContent()).toBe('Delivered');
    expect(await page.getByLabel('Payload', { exact: true }).textContent()).toContain('"from": "browser"');
    await browser.screenshot('event');
  });

  it('finds a dlq_routing event under dead letters, replays it after a confirmation with the count, and sees it delivered', async () => {
    const { page } = browser;
    const eventId = await sendTestEvent(page, 'dlq_routing');
    await expect
      .poll(() => page.getByTestId('follow-state').getAttribute('data-status'), { timeout: SETTLE_MS })
      .toBe('failed');

    await openView(page, 'Dead letters');
    const row = page.locator(`tr[data-event-id="${eventId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('dlq_routing');
    await browser.screenshot('dead-letters');

    await page.getByRole('button', { name: 'Replay all in range…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Replay dead letters?' });
    await dialog.waitFor();
    expect(await dialog.getByTestId('replay-count').textContent()).toBe('1');
    await browser.screenshot('dead-letters-confirm');
    await dialog.getByRole('button', { name: 'Replay 1 event' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('Replayed 1 event');

    await page.goto(`${system.url}/#/events/${eventId}`);
    await expect
      .poll(
        async () => {
          await page.reload();
          return page
            .getByTestId('event-status')
            .textContent({ timeout: 5_000 })
            .catch(() => null);
        },
        { timeout: SETTLE_MS, interval: 1_000 },
      )
      .toBe('Delivered');
  });

  it('lists the events in the inbox, filtered by status', async () => {
    const { page } = browser;
    await openView(page, 'Inbox');
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    await expect.poll(() => page.locator('tr[data-event-id]').count()).toBe(2);
    await page.getByRole('checkbox', { name: 'failed' }).check();
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No events match these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => page.locator('tr[data-event-id]').count()).toBe(2);
    await browser.screenshot('inbox');
  });

  it('shows the overview counts, the last stored event and how full the key’s store is', async () => {
    const { page } = browser;
    await openView(page, 'Overview');
    await expect
      .poll(() => page.locator('.count-delivered dd').first().textContent(), { timeout: 15_000 })
      .toBe('2');
    expect(await page.getByTestId('last-stored').textContent()).toMatch(/s ago|min ago/);
    // The store holds two events: tens of kilobytes, of the 9 GB (STORE_FULL_BYTES) where sends stop.
    expect(await page.getByTestId('store-room').textContent()).toMatch(/Event store: \d+(\.\d+)? KB of 9 GB/);
    await browser.screenshot('overview');
  });

  it('is usable with the keyboard alone: skip link, navigation, focus on each view’s heading, forms', async () => {
    const { page } = browser;
    await page.goto(`${system.url}/#/overview`);
    await page.reload();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');

    for (const [link, heading] of [
      ['Inbox', 'Inbox'],
      ['Dead letters', 'Dead letters'],
      ['Send test event', 'Send a test event'],
      ['Overview', 'Overview'],
    ] as const) {
      // From the view's heading back up to the navigation, as a keyboard user goes.
      await tabTo(page, link, true);
      expect(
        await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle),
      ).toBe('solid');
      await page.keyboard.press('Enter');
      await expect.poll(() => focused(page)).toBe(heading);
    }

    // The inbox by keyboard: a status filter, applied with Enter, then a row opened.
    await tabTo(page, 'Inbox', true);
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toBe('Inbox');
    await tabTo(page, 'input status=delivered');
    await page.keyboard.press('Space');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => browser.requests.some((url) => url.includes('/inbox?status=delivered')))
      .toBe(true);
    await expect.poll(() => page.locator('tr[data-event-id]').count()).toBe(2);
    const first = (await page.locator('tr[data-event-id] a').first().textContent()) ?? '';
    await tabTo(page, first);
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toMatch(/^Event /);

    // The send form: Tab to the debug options, pick one with the arrow keys.
    await tabTo(page, 'Send test event', true);
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toBe('Send a test event');
    await tabTo(page, 'input debug=');
    await page.keyboard.press('ArrowDown');
    expect(await page.getByRole('radio', { name: /^processing_error/ }).isChecked()).toBe(true);
    await browser.screenshot('keyboard-focus');
  });

  it('breaks no WCAG 2.1 A or AA rule axe-core checks, on every main view, in light and dark schemes', async () => {
    const { page } = browser;
    const found: Record<string, unknown> = {};
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [view, ready] of [
        ['overview', 'Last hour'],
        ['inbox', 'Apply filters'],
        ['dead-letters', 'Replay all in range…'],
        ['send', 'Send event'],
      ] as const) {
        await page.goto(`${system.url}/#/${view}`);
        await page.getByText(ready, { exact: true }).first().waitFor();
        const violations = await accessibilityViolations(page);
        if (violations.length > 0) found[`${scheme} ${view}`] = violations;
        if (scheme === 'dark' && view === 'overview') await browser.screenshot('overview-dark');
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    expect(found).toEqual({});
  });

  it('fits a phone screen', async () => {
    const { page } = browser;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${system.url}/#/overview`);
    await page.getByRole('heading', { name: 'Last hour' }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await browser.screenshot('overview-phone');
    await page.goto(`${system.url}/#/dead-letters`);
    await page.getByText('No dead letters.').waitFor();
    await browser.screenshot('dead-letters-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('asks nothing of any other origin and breaks no rule of its Content-Security-Policy', async () => {
    const origin = new URL(system.url).origin;
    expect(browser.requests.filter((url) => new URL(url).origin !== origin)).toEqual([]);
    expect(browser.problems).toEqual([]);
    const response = await fetch(`${system.url}/`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
  });

  it('signs out: the key leaves the session, and a link to an event opens it once signed in again', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await page.goto(`${system.url}/#/events/${deliveredId}`);
    await page.getByLabel('API key').fill(testKey);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Event ${deliveredId}` }).waitFor();
    expect(await page.getByTestId('event-status').textContent()).toBe('Delivered');
  });
});
