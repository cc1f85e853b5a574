/**
 * What the console's system tests do on its pages, as a person would: sign in, open a view from
 * the navigation, move by keyboard, send a test event, check accessibility in both colour schemes.
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { type AxeViolation, accessibilityViolations } from './browser.ts';

export async function signIn(page: Page, origin: string, key: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Opens a view from the navigation bar. */
export async function openView(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name, exact: true }).click();
}

/** What has keyboard focus: its text, or its tag and name for a field. */
export const focused = (page: Page) =>
  page.evaluate(() => {
    const element = document.activeElement as HTMLInputElement | null;
    if (element === null || element === document.body) return '';
    return element.tagName === 'INPUT'
      ? `input ${element.name}=${element.value}`
      : (element.textContent ?? '');
  });

/**
 * Presses Tab (or Shift+Tab) until `target` has focus; fails after 40 presses (a date and time
 * field is several stops: day, month, year, hours, …).
 */
export async function tabTo(page: Page, target: string, backwards = false): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if ((await focused(page)) === target) return;
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
  }
  expect(await focused(page)).toBe(target);
}

/** Sends one event from the Send view with `debug` and answers its event id once accepted. */
export async function sendTestEvent(page: Page, debug: string): Promise<string> {
  await openView(page, 'Send test event');
  await page.getByLabel('Request body (JSON)').fill(JSON.stringify({ payload: { from: 'browser', debug } }));
  await page.getByRole('radio', { name: new RegExp(`^${debug === '' ? 'None' : debug}`) }).check();
  await page.getByRole('button', { name: 'Send event' }).click();
  await expect.poll(() => page.getByTestId('response-status').textContent()).toBe('200');
  const body = JSON.parse((await page.getByLabel('Response body').textContent()) ?? '{}');
  return body.data.event_id as string;
}

/** The axe-core violations of the page as it is now, in the light and the dark colour scheme. */
export async function violationsInBothSchemes(page: Page): Promise<Record<string, AxeViolation[]>> {
  const found: Record<string, AxeViolation[]> = {};
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    const violations = await accessibilityViolations(page);
    if (violations.length > 0) found[scheme] = violations;
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}
