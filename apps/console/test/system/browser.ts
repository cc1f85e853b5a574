/**
 * A real headless Chromium for the console's system tests: Debian's `chromium` (installed by
 * scripts/ensure-chromium.mjs when missing), driven by playwright-core, in a fresh profile
 * directory per run. No browser is downloaded from anywhere else.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { ensureChromium } from '../../scripts/ensure-chromium.mjs';

/** Where each run's screenshots go (git-ignored). */
export const OUTPUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-output');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** axe-core, the accessibility rules engine, run inside the page under test. */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** One rule the page breaks, and where. */
export interface AxeViolation {
  rule: string;
  impact: string | null;
  targets: string[];
}

/**
 * The WCAG 2.1 A and AA rules axe-core finds broken on the page as it is now (contrast, labels,
 * names, landmarks, …). Evaluated through the DevTools protocol, which the page's
 * Content-Security-Policy does not govern, so the page keeps its real policy.
 */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    interface AxeResult {
      violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[];
    }
    const { axe } = globalThis as unknown as {
      axe: { run: (context: Document, options: unknown) => Promise<AxeResult> };
    };
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((v) => ({
      rule: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested, in order. */
  requests: string[];
  /** Content-Security-Policy violations and script errors the page reported. */
  problems: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openBrowser(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  const executablePath: string = ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'triggers-console-chromium-'));
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: FLAGS,
    viewport,
    reducedMotion: 'reduce',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
      problems.push(message.text());
    }
  });
  return {
    context,
    page,
    requests,
    problems,
    async screenshot(name) {
      const path = join(OUTPUT_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
