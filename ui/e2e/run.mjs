// End-to-end: a real `openbell` server (OPENBELL_URL, OPENBELL_TOKEN) driven through Debian's
// chromium by playwright-core. Walks the dashboard the way a person would, saves a screenshot of
// each page under e2e/screenshots/, prints timings, and exits non-zero on the first failure.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = (process.env.OPENBELL_URL ?? 'http://127.0.0.1:8000').replace(/\/$/, '');
const TOKEN = process.env.OPENBELL_TOKEN;
const CHROMIUM = process.env.OPENBELL_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.OPENBELL_SCREENSHOTS ?? join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
const TIMEOUT = 15_000;
const BOT = 'e2e-rsi-macd';
const FIRST_DAY = '2024-10-31';

if (!TOKEN) {
  console.error('e2e: set OPENBELL_TOKEN (and OPENBELL_URL) to a running openbell server');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });

const started = Date.now();
const figures = {};
const problems = [];
let passed = 0;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

let current = null; // the page of the walk, for a screenshot when a step fails

async function step(name, body) {
  const t0 = Date.now();
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (error) {
    console.log(`FAIL ${name} (after ${Date.now() - t0} ms, at ${current?.url()}): ${error.message}`);
    await current?.screenshot({ path: join(SHOTS, 'FAILED.png'), fullPage: true }).catch(() => undefined);
    throw error;
  }
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

function watch(page) {
  page.on('console', (message) => {
    // The refused token (401) and the refused bot name (422) are expected, and logged as such.
    const expected = /Failed to load resource: .*status of (401|422)/.test(message.text());
    if (message.type() === 'error' && !expected) problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.stack}`));
}

const withToken = {
  origins: [{ origin: BASE, localStorage: [{ name: 'openbell.token', value: TOKEN }] }],
};

async function interactiveMs(browser) {
  // A fresh context: empty cache, token already stored (as after an earlier sign-in).
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, storageState: withToken });
  const page = await context.newPage();
  watch(page);
  await page.goto(`${BASE}/`);
  await page.getByTestId('bot-card').first().waitFor({ timeout: TIMEOUT });
  const ms = await page.evaluate(() => performance.getEntriesByName('openbell:bots-rendered')[0]?.startTime);
  await context.close();
  check(typeof ms === 'number', 'the dashboard did not mark its bot cards as rendered');
  return Math.round(ms);
}

async function noHorizontalScroll(page, what) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 392, `${what} is ${width}px wide on a 390px screen`);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic'] });
let exitCode = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  context.setDefaultTimeout(TIMEOUT);
  // The page's WebSocket goes through the test (to the real server), so the test can cut it.
  const live = { sockets: [], refuse: false };
  await context.routeWebSocket(/\/ws$/, (ws) => {
    if (live.refuse) {
      ws.close({ code: 1013, reason: 'cut by the test' });
      return;
    }
    const server = ws.connectToServer();
    live.sockets.push({ ws, server });
  });
  const page = await context.newPage();
  current = page;
  watch(page);
  let botId = null;
  const command = (path) =>
    fetch(`${BASE}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => {
      check(r.ok, `POST ${path}: ${r.status}`);
      return r.json();
    });

  await step('sign in with an API token (a wrong one is refused)', async () => {
    await page.goto(`${BASE}/`);
    await page.getByLabel('API token').fill('ob_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor();
    await shot(page, '01-login');
    await page.getByLabel('API token').fill(TOKEN);
    await page.keyboard.press('Enter');
    await page.getByTestId('bot-card').first().waitFor();
    await page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
  });

  await step('dashboard interactive time (cold cache, 2 runs)', async () => {
    const runs = [await interactiveMs(browser), await interactiveMs(browser)];
    figures.dashboard_interactive_ms = runs;
    console.log(`     dashboard interactive: ${runs.join(' ms, ')} ms (navigation start -> bot cards rendered)`);
  });

  await step('create a bot in the form; the API refuses a bad name beside its field', async () => {
    await page.getByRole('link', { name: 'New bot' }).first().click();
    await page.getByLabel('Name').fill('bad name!');
    await page.getByLabel('Capital (USD)').fill('100000');
    const symbol = page.getByLabel('Add a symbol');
    await symbol.fill('aapl');
    await symbol.press('Enter');
    await symbol.fill('MSFT');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('checkbox', { name: /^RSI/ }).check();
    await page.getByLabel('RSI Oversold below').fill('35');
    await page.getByLabel('RSI Overbought above').fill('65');
    await page.getByRole('checkbox', { name: /^MACD/ }).check();
    await page.getByLabel('Votes needed to buy').fill('1');
    await page.getByLabel('Stop-loss below entry').fill('0.01');
    await page.getByLabel('Take-profit above entry').fill('0.02');
    await page.getByLabel('Largest position, of capital').fill('0.2');
    await page.getByLabel('Open positions at most').fill('2');
    await page.getByRole('button', { name: 'Create bot' }).click();
    const nameError = page.locator('[data-field="name"]');
    await nameError.waitFor();
    check((await nameError.textContent()).includes('pattern'), 'no API error beside the name field');
    check((await page.getByLabel('Name').getAttribute('aria-invalid')) === 'true', 'name not marked invalid');
    await shot(page, '02-bot-editor-errors');
    await page.getByLabel('Name').fill(BOT);
    await page.getByLabel('Name').press('Enter'); // submits the form from the keyboard
    await page.getByRole('heading', { name: BOT }).waitFor();
  });

  const card = page.getByTestId('bot-card').filter({ has: page.getByRole('heading', { name: BOT }) });

  await step('start the bot from its card', async () => {
    await card.getByTestId('bot-status').filter({ hasText: 'created' }).waitFor();
    botId = (await card.getByRole('link', { name: /Audit/ }).getAttribute('href')).split('/')[2];
    await card.getByRole('button', { name: `Start ${BOT}` }).click();
    await card.getByTestId('bot-status').filter({ hasText: 'running' }).waitFor();
  });

  await step('replayed bars make it trade; the fill shows up live, without a reload', async () => {
    await page.evaluate(() => {
      window.__sameDocument = true;
    });
    const ours = page.locator(`[data-testid="recent-trades"] tr[data-bot="${botId}"]`);
    check((await ours.count()) === 0, 'the new bot has trades before the feed ran');
    await page.getByLabel('From day').first().fill(FIRST_DAY);
    await page.getByLabel('To day').first().fill(FIRST_DAY);
    await page.getByLabel('Speed').selectOption('3000');
    await page.getByRole('button', { name: 'Replay bars' }).click();
    await ours.first().waitFor({ timeout: 30_000 });
    check(await page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
    check((await page.getByTestId('activity').locator('li').count()) > 0, 'no live activity listed');
    await page.getByTestId('feed-status').filter({ hasText: 'finished' }).waitFor({ timeout: 30_000 });
    await page.waitForTimeout(500); // let the chart draw the last bars
    check(Number(await card.getByTestId('open-positions').textContent()) >= 0, 'no positions figure');
    await shot(page, '03-dashboard');
  });

  await step('the WebSocket drops; on reconnect it resumes with the events it missed', async () => {
    const activity = page.getByTestId('activity');
    const tags = () => activity.locator('.tag').allTextContents();
    check(!(await tags()).includes('Paused'), 'the bot was paused before the test paused it');
    live.refuse = true;
    for (const { ws, server } of live.sockets.splice(0)) {
      server.close();
      ws.close({ code: 1006, reason: 'cut by the test' });
    }
    await page.getByTestId('connection').filter({ hasText: 'Reconnecting' }).waitFor();
    // While the page is cut off, the bot is paused and resumed (events it has not seen).
    const paused = await command(`/api/bots/${botId}/pause`);
    const resumed = await command(`/api/bots/${botId}/resume`);
    live.refuse = false;
    await page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
    await activity.locator('.tag', { hasText: 'Resumed' }).waitFor();
    const after = await tags();
    check(after.filter((t) => t === 'Paused').length === 1, `Paused listed ${after.filter((t) => t === 'Paused').length} times`);
    check(after.filter((t) => t === 'Resumed').length === 1, 'Resumed not listed once');
    figures.resumed_positions = [paused.position, resumed.position];
    await card.getByTestId('bot-status').filter({ hasText: 'running' }).waitFor();
  });

  await step('open the audit explanation of its trade', async () => {
    const ours = page.locator(`[data-testid="recent-trades"] tr[data-bot="${botId}"]`);
    await ours.first().getByRole('link', { name: 'Explain' }).click();
    const explanation = page.getByTestId('fill-explanation');
    await explanation.waitFor();
    await explanation.getByTestId('explain-risk').locator('li').first().waitFor();
    await explanation.getByTestId('explain-indicators').waitFor();
    const signal = await explanation.getByTestId('explain-signal').textContent();
    check(/vote|stop-loss|take-profit|window|protect/.test(signal), `unexpected signal text: ${signal}`);
    const slider = page.getByLabel(/^Moment/);
    await slider.focus();
    await page.keyboard.press('Home');
    await page.getByTestId('bot-state').or(page.locator('.audit .error')).first().waitFor();
    await shot(page, '04-audit');
  });

  await step('trade history: filter by the bot and export CSV', async () => {
    await page.getByRole('link', { name: 'Trades', exact: true }).click();
    await page.getByLabel('Bot').selectOption({ label: BOT });
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.getByTestId('trades-table').locator('tbody tr');
    await rows.first().waitFor();
    await page.getByTestId('analysis-bot').locator('tbody tr').first().waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const csv = readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/);
    check(csv[0] === 'bot_id,symbol,type,quantity,price,timestamp,indicators_snapshot,profit_loss,order_id,fee', `CSV header: ${csv[0]}`);
    check(csv.length > 1 && csv.slice(1).every((line) => line.startsWith(botId)), 'CSV rows are not the filtered bot\'s');
    figures.csv_rows = csv.length - 1;
    await page.getByRole('columnheader', { name: /Price/ }).getByRole('button').click();
    await page.getByRole('columnheader', { name: /Price/ }).and(page.locator('[aria-sort="ascending"]')).waitFor();
    await shot(page, '05-trades');
    // Every bot's fills (the sample's hundreds): page forward and back by cursor.
    await page.getByLabel('Bot').selectOption({ label: 'All bots' });
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const settled = page.locator('[data-testid="trades-table"][aria-busy="false"]');
    const firstRow = async () => {
      await settled.waitFor();
      return rows.first().textContent();
    };
    await page.getByTestId('analysis-bot').locator('tbody tr').nth(1).waitFor();
    const pageOne = await firstRow();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByTestId('page-number').filter({ hasText: 'Page 2' }).waitFor();
    const pageTwo = await firstRow();
    check(pageTwo !== pageOne, 'the second page starts like the first');
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByTestId('page-number').filter({ hasText: 'Page 1' }).waitFor();
    check((await firstRow()) === pageOne, 'Previous did not come back to the first page');
  });

  await step('run two backtests and compare them side by side', async () => {
    await page.getByRole('link', { name: 'Backtests', exact: true }).click();
    const form = page.locator('form', { has: page.getByRole('heading', { name: 'Run a backtest' }) });
    await form.getByRole('checkbox', { name: BOT }).check();
    await form.getByLabel('From day').fill(FIRST_DAY);
    await form.getByLabel('To day').fill('2024-11-01');
    await form.getByRole('button', { name: 'Run backtest' }).click();
    await page.getByTestId('backtest-status').filter({ hasText: 'finished' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('backtest-summary').locator('tbody tr').first().waitFor();
    await form.getByRole('checkbox', { name: BOT }).uncheck();
    await form.getByRole('checkbox', { name: 'trend-bands' }).check();
    await form.getByRole('button', { name: 'Run backtest' }).click();
    await page.waitForFunction(() => {
      const boxes = [...document.querySelectorAll('[data-testid="backtest-runs"] input[type="checkbox"]')];
      return boxes.length === 2 && boxes.every((box) => !box.disabled); // both runs finished
    }, null, { timeout: 30_000 });
    await page.getByTestId('backtest-summary').filter({ hasText: 'trend-bands' }).waitFor();
    await shot(page, '06-backtest');
    const compare = page.getByTestId('backtest-runs').getByRole('checkbox', { name: /Compare/ });
    await compare.nth(0).check();
    await compare.nth(1).check();
    await page.getByTestId('compare').getByTestId('backtest-summary').nth(1).waitFor();
    await shot(page, '07-backtest-compare');
  });

  await step('delete a finished backtest (after confirming)', async () => {
    const rows = '[data-testid="backtest-runs"] tbody tr';
    const before = await page.locator(rows).count();
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByTestId('backtest-runs').getByRole('button', { name: /^Delete/ }).first().click();
    await page.waitForFunction(
      ([selector, count]) => document.querySelectorAll(selector).length === count,
      [rows, before - 1],
    );
  });

  await step('edit the bot: the form loads its stored config', async () => {
    await page.goto(`${BASE}/bots/${botId}/edit`);
    await page.getByRole('heading', { name: `Edit ${BOT}` }).waitFor();
    check((await page.getByLabel('Name').inputValue()) === BOT, 'stored name not loaded');
    check((await page.getByLabel('RSI Oversold below').inputValue()) === '35', 'stored RSI not loaded');
    await shot(page, '08-bot-editor');
  });

  await step('a 390px-wide phone: every page fits the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, name, ready] of [
      ['/', '09-phone-dashboard', 'bot-card'],
      ['/trades', '10-phone-trades', 'trades-table'],
      ['/bots/new', '11-phone-editor', null],
      [`/bots/${botId}/audit`, '12-phone-audit', 'timeline'],
      ['/backtests', '13-phone-backtests', 'backtest-runs'],
    ]) {
      await page.goto(`${BASE}${path}`);
      if (ready) await page.getByTestId(ready).first().waitFor();
      else await page.getByLabel('Name').waitFor();
      await page.waitForTimeout(200);
      await shot(page, name);
      await noHorizontalScroll(page, path);
    }
  });

  await step('no console errors (CSP violations included)', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
} catch {
  exitCode = 1;
  if (problems.length) console.log(problems.join('\n'));
} finally {
  await browser.close();
}
figures.e2e_seconds = Math.round((Date.now() - started) / 100) / 10;
console.log(`e2e figures: ${JSON.stringify(figures)}`);
console.log(`screenshots: ${SHOTS}`);
process.exit(exitCode);
