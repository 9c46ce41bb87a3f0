// The calendar's drag and drop in a browser, against the release binary in demo mode: the demo
// user plans a draft, then drags it onto another day in the week view (its time of day kept),
// onto an hour of that day, and onto another day in the month view; each drop posts the
// calendar's reschedule form and the page shows the post where it was dropped. The same form
// without the script is tested server-side (crates/web/tests/it/ui/calendar.rs).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from '../lib/demo.mjs';
import { ARTIFACTS, launch, newPage, screenshot } from '../lib/browser.mjs';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

let demo;
let browser;
let page;
const errors = [];
const state = {};

/** YYYY-MM-DD of today plus `days`, in UTC (the demo brand's zone). */
function day(days, from = new Date()) {
  return new Date(from.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

/** The neighbour of `date` (the next day, or the one before when the next is outside `same`). */
function neighbour(date, same) {
  const next = day(1, new Date(`${date}T12:00:00Z`));
  return same(next) ? next : day(-1, new Date(`${date}T12:00:00Z`));
}

const ws = (path) => `${demo.url}/w/${state.workspace}${path}`;
const item = () => page.locator(`#post-${state.post}`);

/** Drags the post onto `target` with real mouse moves (the target may appear only once the drag has begun). */
async function dragOnto(target) {
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await item().locator('.cal-time').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 15, box.y + box.height / 2 + 15, { steps: 5 });
  await target.waitFor({ state: 'visible' });
  const to = await target.boundingBox();
  await page.mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 10 });
  await page.mouse.up();
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  demo = await startDemo({ logPath: join(ARTIFACTS, 'demo-calendar.log') });
  browser = await launch();
  ({ page } = await newPage(browser));
  // Tall enough for a week's columns with their hour slots and a whole month.
  await page.setViewportSize({ width: 1280, height: 1400 });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url ?? ''})`);
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  await demo?.stop();
});

describe('the calendar in a browser, demo mode', () => {
  test('a planned draft is dragged to another day, to an hour, and across the month, and the calendar shows it there', { timeout: 180_000 }, async () => {
    try {
      await dragAround();
    } catch (e) {
      await screenshot(page, 'FAILED-calendar-drag').catch(() => {});
      throw e;
    }
  });
});

async function dragAround() {
  {
    await page.goto(`${demo.url}/login`);
    await page.getByLabel('E-mail address').fill(demo.demoEmail);
    await page.getByLabel('Password').fill(demo.demoPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/w\/[0-9a-f-]{36}/);
    state.workspace = page.url().match(/\/w\/([0-9a-f-]{36})/)[1];

    // A draft for LinkedIn, planned a week and a day from now at 10:30 (the brand is in UTC).
    await page.goto(ws('/posts/new'));
    for (const other of ['Instagram', 'TikTok']) await page.getByLabel(`Publish to ${other}`).uncheck();
    await page.getByLabel('Publish to LinkedIn').check();
    await page.getByLabel('LinkedIn caption').fill('Sourdough class on Saturday: bring an apron.');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.waitForURL(/\/posts\/[0-9a-f-]{36}/);
    state.post = page.url().match(/\/posts\/([0-9a-f-]{36})/)[1];
    const planned = day(8);
    await page.locator('#at').fill(`${planned}T10:30`);
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByText('Schedule saved.').waitFor();

    // Week view: the post sits on its day, draggable; the hint says what dragging does.
    await page.goto(ws(`/calendar?view=week&date=${planned}`));
    await page.locator('[data-drag-help]').waitFor({ state: 'visible' });
    await page.locator(`section[data-date="${planned}"] #post-${state.post}`).waitFor();
    assert.equal(await item().getAttribute('draggable'), 'true');
    await screenshot(page, 'calendar-week-before-drag');

    const monday = await page.locator('section[data-date]').first().getAttribute('data-date');
    const sunday = await page.locator('section[data-date]').last().getAttribute('data-date');
    const inWeek = (d) => d >= monday && d <= sunday;
    const otherDay = neighbour(planned, inWeek);
    await dragOnto(page.locator(`section[data-date="${otherDay}"] h2`));
    await page.waitForURL(/msg=post_scheduled/);
    await page.getByText('Schedule saved.').waitFor();
    const moved = page.locator(`section[data-date="${otherDay}"] #post-${state.post}`);
    await moved.waitFor();
    assert.equal(await moved.locator('.cal-time').innerText(), '10:30', 'dropped on a day: the time of day is kept');
    assert.equal(await page.locator(`section[data-date="${planned}"] #post-${state.post}`).count(), 0);
    await screenshot(page, 'calendar-week-after-drag-to-a-day');

    // Onto an hour of the same day (the hours show while dragging): that hour, minutes kept.
    await dragOnto(page.locator(`section[data-date="${otherDay}"] [data-hour="14"]`));
    await page.locator(`section[data-date="${otherDay}"] #post-${state.post} .cal-time`).filter({ hasText: '14:30' }).waitFor();
    await screenshot(page, 'calendar-week-after-drag-to-an-hour');

    // Month view: onto a neighbouring day of the same month.
    await page.goto(ws(`/calendar?view=month&date=${otherDay}`));
    await page.locator('[data-drag-help]').waitFor({ state: 'visible' });
    const month = otherDay.slice(0, 7);
    const target = neighbour(otherDay, (d) => d.startsWith(month));
    await dragOnto(page.locator(`td[data-date="${target}"]`));
    await page.waitForURL(/view=month.*msg=post_scheduled/);
    const cell = page.locator(`td[data-date="${target}"] #post-${state.post}`);
    await cell.waitFor();
    assert.equal(await cell.locator('.cal-time').innerText(), '14:30');
    await screenshot(page, 'calendar-month-after-drag');

    // The editor agrees, and the draft is still a draft (moving is not editing).
    await page.goto(ws(`/posts/${state.post}`));
    assert.equal(await page.locator('#at').inputValue(), `${target}T14:30`);
    assert.deepEqual(errors, [], 'no page error, no blocked script or style');
  }
}
