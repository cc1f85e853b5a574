/**
 * A list view whose next load fails, against the real Workers (./system.ts, a key of this suite's
 * own): the API refuses for real, with a 400 for a range that ends before it starts and a 429 once
 * the key's `inbox_pages_per_key` budget (100 pages per 10 s) is spent. The view must show the
 * error, not the rows it showed before as if they were the answer. The inbox and the dead letters
 * share the pager (EventPages) and every list shares `useLoad`; the subscriptions list is checked in
 * console-logic.system.test.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@triggers/client';
import type { System } from '@triggers/tooling/system';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Browser, openBrowser } from './browser.ts';
import { openView, signIn } from './console-page.ts';
import { consoleSystem } from './system.ts';

/** The inbox view's page size, and one event more: a second page. */
const PAGE_SIZE = 25;
const EVENTS = PAGE_SIZE + 1;

let system: System<'test'>;
let browser: Browser;

beforeAll(async () => {
  system = await consoleSystem('list failure tests');
  const client = createClient({ baseUrl: system.url, apiKey: system.keys.test });
  await client.events.sendBatch(Array.from({ length: EVENTS }, (_, n) => ({ payload: { n } })));
  // Events take up to the harness's batch timeout (1 s) to be stored.
  await vi.waitFor(
    async () => expect((await client.inbox.list({ limit: 100 })).events).toHaveLength(EVENTS),
    { timeout: 45_000, interval: 500 },
  );
  browser = await openBrowser();
  await signIn(browser.page, system.url, system.keys.test);
  await browser.page.getByRole('button', { name: 'Sign out' }).waitFor();
});

afterAll(async () => {
  await browser?.close();
});

/** The event ids of the rows shown. */
const shownIds = (page: Browser['page']) =>
  page
    .locator('tr[data-event-id]')
    .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-event-id')));

/**
 * Spends the key's `inbox_pages_per_key` budget through the API, and keeps it spent, until the
 * returned function is called; resolves once the API refuses a page (429).
 */
async function spendInboxPages(): Promise<() => Promise<void>> {
  let spending = true;
  let refused = false;
  const ask = async () => {
    const response = await fetch(`${system.url}/inbox?limit=1`, {
      headers: { authorization: `Bearer ${system.keys.test}` },
    });
    await response.body?.cancel();
    refused = response.status === 429;
  };
  // Five askers, each asking again at once while pages are answered and every 200 ms once they
  // are refused: a window's 100 pages are spent as fast as the Workers answer, however loaded the
  // machine (rounds of 10 every 250 ms, each waiting for its slowest answer, spent less than 100 in
  // a window once answers slowed, and the console's page then came back); refused, about 25 asks
  // a second, well under the key's 1,000 requests per 10 s.
  const asker = async () => {
    while (spending) {
      await ask();
      if (refused) await sleep(200);
    }
  };
  const loop = Promise.all(Array.from({ length: 5 }, asker));
  await expect.poll(() => refused, { timeout: 15_000 }).toBe(true);
  return async () => {
    spending = false;
    await loop;
  };
}

describe('a list view whose load fails', () => {
  it('shows the 400 of a refused filter and none of the rows of the filter before; clearing it loads them again', async () => {
    const { page } = browser;
    await openView(page, 'Inbox');
    await expect.poll(() => page.locator('tr[data-event-id]').count()).toBe(PAGE_SIZE);

    // A range that ends before it starts: the API answers 400 VALIDATION_ERROR ("must be before to").
    await page.getByLabel('Received from').fill('2030-01-02T00:00:00');
    await page.getByLabel('Received before').fill('2030-01-01T00:00:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();

    await expect.poll(() => page.getByRole('alert').textContent()).toContain('correlation id');
    expect(await page.locator('.notice-error').count()).toBe(1);
    expect(await shownIds(page)).toEqual([]);
    expect(await page.getByText('No events match these filters.').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await browser.screenshot('inbox-filter-refused');

    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => page.locator('tr[data-event-id]').count()).toBe(PAGE_SIZE);
    expect(await page.getByRole('alert').count()).toBe(0);
  });

  it('shows the 429 of a refused next page and none of the page before, offers no next page from it, and Refresh loads the page once the API answers again', async () => {
    const { page } = browser;
    await page.goto(`${system.url}/#/inbox`);
    await expect.poll(() => page.locator('tr[data-event-id]').count()).toBe(PAGE_SIZE);
    const firstPage = await shownIds(page);

    const stopSpending = await spendInboxPages();
    try {
      await page.getByRole('button', { name: 'Next page' }).click();
      // The console tries a 429 once more after at most 5 s, then shows the API's words.
      await expect
        .poll(() => page.getByRole('alert').textContent(), { timeout: 20_000 })
        .toContain('Rate limit inbox_pages_per_key');
      expect(await shownIds(page)).toEqual([]);
      expect(await page.locator('.pager span').textContent()).toBe('Page 2');
      expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
      await browser.screenshot('inbox-page-refused');
    } finally {
      await stopSpending();
    }

    // The budget's window (10 s) has rolled over: Refresh asks for page 2 again, which holds the
    // one event the first page had no room for.
    await sleep(10_500);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.locator('tr[data-event-id]').count(), { timeout: 15_000 }).toBe(1);
    const secondPage = await shownIds(page);
    expect(firstPage).not.toContain(secondPage[0]);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.locator('.pager span').textContent()).toBe('Page 2');
  });
});
