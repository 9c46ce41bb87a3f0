// The whole flow in a browser, against the release binary in demo mode (every network, the AI
// and Telegram are local fakes inside the one process): a visitor meets the cookie banner,
// signs up, creates a brand, connects Instagram, LinkedIn and TikTok through their consent
// pages, links Telegram with a one-time code, asks the AI for drafts, approves one in the web
// review queue with the keyboard and one with Telegram's Approve button, publishes both and
// finds them on the fakes through the permalinks on the post page. The demo's mailbox confirms
// the new address, and no page logs an error (the icon included).
//
// The tests run in order and share one browser profile, like one person's afternoon; a test
// whose step before failed is skipped and says which. Screenshots land in e2e/artifacts/.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from '../lib/demo.mjs';
import { ARTIFACTS, launch, newPage, offsite, screenshot } from '../lib/browser.mjs';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

/** Cookies the app may set without consent (crates/web/src/ui/privacy.rs, ESSENTIAL_COOKIES). */
const ESSENTIAL_COOKIES = ['np_session', 'np_csrf', 'np_consent'];
const NETWORKS = ['Instagram', 'LinkedIn', 'TikTok'];
const TELEGRAM_CHAT = '424242';
const BRAND = 'Harbour Coffee';

let demo;
let browser;
let context;
let page;
/** What the flow learnt so far (workspace id, brand id, post ids…). */
const flow = {};
const done = new Set();
let currentName = '';
let currentTest = null;

/** A line in the test report (a known issue worked around, say). */
function note(text) {
  currentTest?.diagnostic(text);
}

/** An error that retrying cannot cure (a failed generation, a failed publication). */
class Fatal extends Error {}

/**
 * Retries `check` (which throws or returns falsy until ready) every `everyMs`, at most
 * `withinMs`; a `Fatal` error ends it at once.
 */
async function eventually(what, check, { withinMs = 45_000, everyMs = 500 } = {}) {
  const deadline = Date.now() + withinMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = new Error('not yet');
    } catch (e) {
      if (e instanceof Fatal) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not seen within ${withinMs} ms (last: ${last?.message ?? last})`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const app = (path) => `${demo.url}${path}`;
const ws = (path = '') => app(`/w/${flow.workspace}${path}`);

/**
 * A step of the flow: a test named after what it proves. It is skipped (saying why) when a step
 * it builds on did not pass; when it fails, a screenshot shows where the browser was.
 */
function step(name, needs, fn) {
  test(name, { timeout: 180_000 }, async (t) => {
    const missing = needs.filter((s) => !done.has(s));
    if (missing.length) {
      t.skip(`needs the earlier step(s) "${missing.join('", "')}", which did not pass`);
      return;
    }
    currentName = name;
    currentTest = t;
    try {
      await fn();
      done.add(name);
    } catch (e) {
      try {
        await screenshot(page, `FAILED-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
      } catch {
        /* the browser may be gone */
      }
      throw e;
    }
  });
  return name;
}

before(async () => {
  // Each run's screenshots alone: `npm test` empties artifacts/ first (every test file adds to it).
  mkdirSync(ARTIFACTS, { recursive: true });
  demo = await startDemo({ logPath: join(ARTIFACTS, 'demo.log') });
  browser = await launch();
  ({ context, page } = await newPage(browser));
  // The app's pages must never fail to load a resource or throw.
  const problem = (text) => {
    flow.pageErrors = [...(flow.pageErrors ?? []), `${currentName}: ${text}`];
  };
  page.on('pageerror', (e) => problem(e.message));
  // A console error is a blocked script or style (CSP), a failed load, and the like.
  page.on('console', (m) => {
    const where = m.location().url ?? '';
    if (m.type() === 'error' && where.startsWith(demo.url)) {
      problem(`${m.text()} (${where})`);
    }
  });
  page.on('response', (r) => {
    const url = r.url();
    if (url.startsWith(demo.url) && r.status() >= 500) problem(`${r.status()} from ${url}`);
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  await demo?.stop();
});

/** The names of the cookies in the browser for the app's host. */
async function cookieNames() {
  return (await context.cookies(demo.url)).map((c) => c.name).sort();
}

function assertOnlyEssentialCookies(names, when) {
  const optional = names.filter((n) => !ESSENTIAL_COOKIES.includes(n));
  assert.deepEqual(optional, [], `${when}: cookies set that are not essential: ${optional.join(', ')}`);
}

/** The post id in a /w/{ws}/posts/{id} address. */
function postIdOf(href) {
  const m = href.match(/\/posts\/([0-9a-f-]{36})/);
  assert.ok(m, `no post id in ${href}`);
  return m[1];
}

describe('Nanopost in a browser, demo mode', () => {
  const banner = step('the cookie banner greets a first visit and "Essential only" sets no optional cookie', [], async () => {
    await page.goto(app('/'));
    assert.match(page.url(), /\/login$/, 'a visitor is sent to the sign-in page');
    const aside = page.getByRole('complementary', { name: 'Cookies' });
    await aside.waitFor();
    assert.match(await aside.innerText(), /essential cookies only/i);
    await screenshot(page, 'first-visit-login-with-cookie-banner');
    assertOnlyEssentialCookies(await cookieNames(), 'first visit');

    await aside.getByRole('link', { name: 'Cookie settings' }).click();
    await page.waitForURL(/\/privacy\/cookies$/);
    await page.getByText('You have not chosen yet').waitFor();
    await page.getByRole('button', { name: 'Essential only' }).click();
    await page.getByText('Your choice is saved.').waitFor();
    await page.getByText('You refused optional cookies.').waitFor();
    await screenshot(page, 'cookie-settings-essential-only');

    const cookies = await context.cookies(demo.url);
    const consent = cookies.find((c) => c.name === 'np_consent');
    assert.ok(consent, 'the choice is remembered in the np_consent cookie');
    assert.match(consent.value, /\.deny\./, 'the remembered choice is "deny"');
    assert.ok(consent.httpOnly, 'the consent cookie is HttpOnly');
    assertOnlyEssentialCookies(await cookieNames(), 'after "Essential only"');
  });

  const signUp = step('a visitor signs up with the 18+ confirmation and lands in their own workspace', [], async () => {
    await page.goto(app('/signup'));
    await page.getByLabel('E-mail address').fill('owner@harbour.example');
    await page.getByLabel('Your name').fill('Robin Harbour');
    await page.getByLabel('Password').fill('a long passphrase for e2e');
    await page.getByLabel('Workspace name').fill('Harbour Group');
    await page.getByLabel('I confirm I am 18 or older').check();
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(/\/w\/[0-9a-f-]{36}/);
    flow.workspace = page.url().match(/\/w\/([0-9a-f-]{36})/)[1];
    await page.getByRole('navigation', { name: 'Workspace' }).waitFor();
    assert.match(await page.locator('.who').innerText(), /Robin Harbour/);
    // The address is not verified yet (the demo has no SMTP server, the mail waits in the
    // outbox); the app says so and lets the person work meanwhile.
    await page.getByText('Please confirm your e-mail address').waitFor();
    await screenshot(page, 'dashboard-after-sign-up');
  });

  step('the demo mailbox holds the confirmation e-mail, and its link confirms the address', [signUp], async () => {
    // The demo has no mail server: what it would send is listed at /demo/mailbox instead.
    await page.goto(app('/demo/mailbox'));
    const row = page.locator('table.list tbody tr', { hasText: 'owner@harbour.example' });
    await row.first().waitFor();
    await screenshot(page, 'demo-mailbox');
    await row.first().getByRole('link').click();
    await page.waitForURL(/\/demo\/mailbox\/[0-9a-f-]{36}$/);
    const link = page.locator('#message a[href*="/verify-email?token="]');
    assert.equal(await link.count(), 1, 'the message shows its confirmation link as a link');
    assert.ok((await link.getAttribute('href')).startsWith(demo.url), 'the link leads back to the demo');
    await screenshot(page, 'demo-mailbox-message');
    await link.click();
    await page.waitForURL(/\/verify-email\?token=/);
    await page.getByRole('button', { name: 'Confirm my address' }).click();
    await page.getByRole('heading', { name: 'Address confirmed' }).waitFor();
    await page.goto(ws());
    await page.getByRole('navigation', { name: 'Workspace' }).waitFor();
    assert.equal(await page.getByText('Please confirm your e-mail address').count(), 0, 'no reminder once confirmed');
  });

  step('the demo user signs in with the password the demo printed', [], async () => {
    const other = await newPage(browser);
    try {
      await other.page.goto(app('/login'));
      await other.page.getByLabel('E-mail address').fill(demo.demoEmail);
      await other.page.getByLabel('Password').fill(demo.demoPassword);
      await other.page.getByRole('button', { name: 'Sign in' }).click();
      await other.page.waitForURL(/\/w\/[0-9a-f-]{36}/);
      await other.page.goto(other.page.url().replace(/(\/w\/[0-9a-f-]{36}).*/, '$1/brands'));
      await other.page.getByRole('link', { name: 'Demo Bakery' }).waitFor();
    } finally {
      await other.context.close();
    }
  });

  const brand = step('creating a brand leads to its page, with links to generation and connected accounts', [signUp], async () => {
    await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Brands' }).click();
    await page.getByRole('link', { name: 'New brand' }).click();
    await page.getByLabel('Name').fill(BRAND);
    await page.getByLabel('Description').fill('A coffee bar by the harbour that roasts its own beans.');
    await page.getByLabel('Voice and tone').fill('Warm, short sentences, no exclamation marks.');
    await page.getByLabel('Audience').fill('Locals and sailors who like good coffee.');
    await page.getByLabel('Topics').fill('the roast of the week\nlatte art\nharbour mornings');
    await page.getByLabel('Default hashtags').fill('#harbourcoffee');
    await page.getByLabel('Queue slots').fill('mon 09:00\nwed 12:00\nfri 16:00');
    await screenshot(page, 'new-brand-form');
    await page.getByRole('button', { name: 'Create brand' }).click();
    await page.waitForURL(/\/brands\/[0-9a-f-]{36}/);
    flow.brand = page.url().match(/\/brands\/([0-9a-f-]{36})/)[1];
    await page.getByRole('heading', { level: 1, name: BRAND }).waitFor();
    await page.getByRole('link', { name: 'Generate with AI' }).waitFor();
    await page.getByRole('link', { name: 'Connected accounts' }).waitFor();
  });

  const connect = step('Instagram, LinkedIn and TikTok connect through their consent pages (Allow, then back to Nanopost)', [brand], async () => {
    await page.goto(ws(`/brands/${flow.brand}`));
    await page.getByRole('link', { name: 'Connected accounts' }).click();
    await page.waitForURL(/\/accounts$/);
    await page.getByText('No account is connected to this brand yet.').waitFor();
    await screenshot(page, 'connected-accounts-empty');
    const fakeOrigin = { Instagram: demo.instagram, LinkedIn: demo.linkedin, TikTok: demo.tiktok };
    for (const network of NETWORKS) {
      await page.getByRole('button', { name: `Connect ${network}`, exact: true }).click();
      // The fake network's own consent page, on its own origin.
      await page.waitForURL((u) => u.href.startsWith(fakeOrigin[network]));
      await page.getByText('wants to access your account').waitFor();
      await screenshot(page, `consent-page-${network.toLowerCase()}`);
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((u) => u.href.startsWith(demo.url));
      if (!page.url().endsWith('/accounts') && !page.url().includes('/accounts?')) {
        // Nanopost may ask something after the network (a page to pick, say): show where.
        await screenshot(page, `after-consent-${network.toLowerCase()}`);
        await page.goto(ws(`/brands/${flow.brand}/accounts`));
      }
      const row = page.locator('table.list tbody tr').filter({ hasText: network });
      await row.first().waitFor();
      assert.match(await row.first().innerText(), /Working/, `${network}: the account works`);
    }
    const rows = await page.locator('table.list tbody tr').allInnerTexts();
    for (const network of NETWORKS) {
      assert.ok(rows.some((r) => r.includes(network)), `${network} is listed: ${rows.join(' | ')}`);
    }
    // The demo's TikTok app is not audited: the page says posts stay private.
    await page.getByText('SELF_ONLY').waitFor();
    await screenshot(page, 'connected-accounts-three-networks');
  });

  // The LinkedIn fake's member manages a Company Page, so LinkedIn arrives as two accounts (the
  // member profile and the page). A draft does not pick one of two, and publishing to LinkedIn
  // then fails, so the owner keeps the Company Page only (reported; see the e2e report).
  const oneLinkedin = step('disconnecting the LinkedIn member profile leaves the Company Page as the brand\'s LinkedIn account', [connect], async () => {
    await page.goto(ws(`/brands/${flow.brand}/accounts`));
    const member = page.locator('table.list tbody tr').filter({ hasText: 'member profile' });
    await member.getByRole('button', { name: 'Disconnect' }).click();
    await page.waitForURL(/\/accounts(\?|$)/);
    await page.getByRole('status').first().waitFor();
    const rows = await page.locator('table.list tbody tr').allInnerTexts();
    assert.equal(rows.filter((r) => r.includes('LinkedIn')).length, 1, `one LinkedIn account left: ${rows.join(' | ')}`);
    assert.ok(rows.some((r) => r.includes('LinkedIn') && r.includes('Company Page')), rows.join(' | '));
    assert.equal(rows.length, 3, `Instagram, LinkedIn and TikTok: ${rows.join(' | ')}`);
  });

  const telegram = step('Telegram links with a one-time code sent to the bot in the fake chat', [signUp], async () => {
    await page.goto(ws('/telegram'));
    await page.getByText('Not linked.').waitFor();
    await page.getByRole('button', { name: 'Create a link code' }).click();
    const command = await page.getByLabel('The message to send to the bot').inputValue();
    assert.match(command, /^\/start [A-Z2-9]{10}$/, `the message to send: ${command}`);
    await screenshot(page, 'telegram-link-code');

    // The fake's chat simulator: write to the bot as a new person.
    const chat = await newPage(browser);
    try {
      await chat.page.goto(demo.telegram + '/');
      await chat.page.getByLabel('Chat id').fill(TELEGRAM_CHAT);
      await chat.page.getByLabel('Message').fill(command);
      await chat.page.getByRole('button', { name: 'Send' }).click();
      await chat.page.waitForURL(`${demo.telegram}/chat/${TELEGRAM_CHAT}`);
      // The app reads the chat by long polling: the answer arrives within a poll or two.
      await eventually('the bot confirms the link', async () => {
        await chat.page.reload();
        return (await chat.page.locator('.msg.bot').allInnerTexts()).some((m) => m.includes('Linked.'));
      });
      await screenshot(chat.page, 'telegram-fake-chat-linked');
    } finally {
      await chat.context.close();
    }
    await page.goto(ws('/telegram'));
    await page.getByText('Linked to').waitFor();
    await page.getByRole('button', { name: 'Unlink Telegram' }).waitFor();
  });

  /** Waits on a generation's status page until its drafts are listed; returns their post ids. */
  async function draftsOfGeneration(expected) {
    await eventually(
      'the generation to finish',
      async () => {
        await page.reload();
        const state = await page.locator('h1 .pill').innerText();
        if (/fail/i.test(state)) {
          throw new Fatal(`the generation failed: ${await page.locator('main').innerText()}`);
        }
        return (await page.getByRole('heading', { name: 'Drafts waiting for review' }).count()) > 0;
      },
      { withinMs: 90_000, everyMs: 1_000 },
    );
    const hrefs = await page
      .locator('section', { has: page.getByRole('heading', { name: 'Drafts waiting for review' }) })
      .getByRole('link', { name: /^Draft \d+$/ })
      .evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    assert.equal(hrefs.length, expected, `drafts listed: ${hrefs.join(', ')}`);
    return hrefs.map(postIdOf);
  }

  const generate = step('the AI writes drafts for the three networks (a post and a planned week), each waiting for review', [connect, oneLinkedin], async () => {
    await page.goto(ws(`/brands/${flow.brand}`));
    await page.getByRole('link', { name: 'Generate with AI' }).click();
    await page.waitForURL(/\/generate$/);
    await screenshot(page, 'generate-page');

    const single = page.locator('#generate-post');
    for (const network of NETWORKS) await single.getByLabel(network, { exact: true }).check();
    await single.getByLabel('What it is about').fill('Our new Ethiopian single origin, roasted this morning.');
    await single.getByRole('button', { name: 'Generate a post' }).click();
    await page.waitForURL(/\/generations\/[0-9a-f-]{36}/);
    const first = await draftsOfGeneration(1);
    await screenshot(page, 'generation-status-one-post');

    await page.goto(ws(`/brands/${flow.brand}/generate`));
    const plan = page.locator('#generate-plan');
    for (const network of NETWORKS) await plan.getByLabel(network, { exact: true }).check();
    await plan.getByLabel('Period').selectOption('week');
    await plan.getByLabel('Posts').fill('2');
    await plan.getByRole('button', { name: 'Plan the posts' }).click();
    await page.waitForURL(/\/generations\/[0-9a-f-]{36}/);
    const planned = await draftsOfGeneration(2);
    await screenshot(page, 'generation-status-planned-week');

    flow.drafts = [...first, ...planned];
    // Each draft goes to all three networks and waits for review.
    await page.goto(ws(`/posts/${flow.drafts[0]}`));
    await screenshot(page, 'post-editor-generated-draft');
    assert.match(await page.locator('h1 .pill').innerText(), /review/i);
  });

  const telegramDrafts = step('every draft reaches the linked reviewer in Telegram with Approve, Reject and Regenerate buttons', [telegram, generate], async () => {
    const chat = await newPage(browser);
    try {
      await chat.page.goto(`${demo.telegram}/chat/${TELEGRAM_CHAT}`);
      await eventually('three drafts in the chat', async () => {
        await chat.page.reload();
        const texts = await chat.page.locator('.msg.bot').allInnerTexts();
        return flow.drafts.every((id) => texts.some((m) => m.includes(`/posts/${id}`) && m.includes('Draft for review')));
      });
      const message = chat.page.locator('.msg.bot', { hasText: `/posts/${flow.drafts[1]}` });
      for (const button of ['Approve', 'Reject', 'Regenerate']) {
        await message.getByRole('button', { name: new RegExp(button) }).waitFor();
      }
      assert.match(await message.innerText(), new RegExp(`Draft for review — ${BRAND}`));
      await screenshot(chat.page, 'telegram-fake-chat-drafts');
    } finally {
      await chat.context.close();
    }
  });

  const keyboard = step('the review queue shows every draft\'s previews and works from the keyboard: j/k move, a then Enter approves, r then Ctrl+Enter rejects', [generate], async () => {
    // The web approves the first draft and rejects the third; Telegram gets the second.
    flow.webApproved = flow.drafts[0];
    flow.telegramApproved = flow.drafts[1];
    flow.rejected = flow.drafts[2];
    await page.goto(ws('/review'));
    const items = page.locator('[data-review-item]');
    await items.first().waitFor();
    const ids = await items.evaluateAll((els) => els.map((e) => e.id.replace(/^post-/, '')));
    assert.deepEqual([...ids].sort(), [...flow.drafts].sort(), 'the queue holds the three drafts');
    // Every network's preview is there, and its images load (they are lazy: scroll to each).
    for (const id of ids) {
      const text = await page.locator(`#post-${id}`).innerText();
      for (const network of NETWORKS) assert.match(text, new RegExp(network, 'i'), `${id}: a ${network} preview`);
    }
    const images = page.locator('[data-review-item] img');
    assert.ok((await images.count()) >= 3, 'the previews show the drafts\' images');
    for (const img of await images.all()) {
      await img.scrollIntoViewIfNeeded();
      await eventually('a preview image loads', () => img.evaluate((i) => i.complete && i.naturalWidth > 0), { withinMs: 10_000 });
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    // The script is there: its help line shows.
    await page.locator('[data-keyboard-help]').waitFor({ state: 'visible' });
    await screenshot(page, 'review-queue');

    const selected = () =>
      page.evaluate(() => [...document.querySelectorAll('[data-review-item]')].findIndex((e) => e.classList.contains('selected')));
    const focusedItem = () => page.evaluate(() => document.activeElement?.id ?? '');
    assert.equal(await selected(), 0, 'the first draft starts selected');
    await page.keyboard.press('j');
    assert.equal(await selected(), 1, 'j selects the next draft');
    assert.equal(await focusedItem(), `post-${ids[1]}`, 'and moves the focus to it');
    await page.keyboard.press('j');
    assert.equal(await selected(), 2, 'j again selects the third');
    await page.keyboard.press('j');
    assert.equal(await selected(), 2, 'j on the last draft stays there');
    await page.keyboard.press('k');
    assert.equal(await selected(), 1, 'k goes back');
    await page.keyboard.press('k');
    assert.equal(await selected(), 0, 'k back to the first');

    // Keys typed into a field are text, not commands; Escape leaves the field.
    const reason = items.nth(0).locator('textarea');
    await reason.focus();
    await page.keyboard.type('jk');
    assert.equal(await reason.inputValue(), 'jk');
    assert.equal(await selected(), 0, 'typing j and k into a field moves nothing');
    await reason.fill('');
    await page.keyboard.press('Escape');
    assert.equal(await focusedItem(), `post-${ids[0]}`, 'Escape returns the focus to the draft');

    /** Moves the selection to the draft `id` with j/k only. */
    async function selectWithKeys(id, order) {
      const target = order.indexOf(id);
      while ((await selected()) < target) await page.keyboard.press('j');
      while ((await selected()) > target) await page.keyboard.press('k');
      assert.equal(await focusedItem(), `post-${id}`);
    }

    await selectWithKeys(flow.webApproved, ids);
    await page.keyboard.press('a');
    const approve = page.locator(`#post-${flow.webApproved}`).getByRole('button', { name: 'Approve' });
    assert.equal(await approve.evaluate((b) => b === document.activeElement), true, 'a focuses Approve');
    // The focus is visible: a keyboard user sees where they are.
    const ring = await approve.evaluate((b) => {
      const s = getComputedStyle(b);
      return { visible: b.matches(':focus-visible'), outline: s.outlineStyle, shadow: s.boxShadow };
    });
    assert.ok(
      ring.visible && (ring.outline !== 'none' || ring.shadow !== 'none'),
      `the focused Approve button shows a focus ring: ${JSON.stringify(ring)}`,
    );
    await screenshot(page, 'review-queue-approve-focused');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/review/);
    await page.getByRole('status').first().waitFor();
    assert.equal(await page.locator(`#post-${flow.webApproved}`).count(), 0, 'the approved draft left the queue');
    await screenshot(page, 'review-queue-after-keyboard-approval');

    const left = await items.evaluateAll((els) => els.map((e) => e.id.replace(/^post-/, '')));
    await page.locator(`#post-${left[0]}`).focus();
    await selectWithKeys(flow.rejected, left);
    await page.keyboard.press('r');
    const rejectReason = page.locator(`#post-${flow.rejected}`).getByLabel('Reason for rejecting');
    assert.equal(await rejectReason.evaluate((el) => el === document.activeElement), true, 'r focuses the reason');
    await page.keyboard.type('Too close to the roast-of-the-week post.');
    await page.keyboard.press('Control+Enter');
    await page.waitForURL(/\/review/);
    await page.getByRole('status').first().waitFor();
    assert.equal(await page.locator(`#post-${flow.rejected}`).count(), 0, 'the rejected draft left the queue');
    assert.equal(await page.locator(`#post-${flow.telegramApproved}`).count(), 1, 'the draft for Telegram waits');

    await page.goto(ws(`/posts/${flow.webApproved}`));
    const approvals = page.locator('section', { has: page.getByRole('heading', { name: 'Approvals' }) });
    assert.match(await approvals.innerText(), /Robin Harbour \(owner, via web\)[\s\S]*in force/i);
    await page.goto(ws(`/posts/${flow.rejected}`));
    await page.getByText('Too close to the roast-of-the-week post.').waitFor();
  });

  const telegramApprove = step('pressing Approve in Telegram approves that draft as the linked reviewer', [telegramDrafts], async () => {
    flow.telegramApproved = flow.drafts[1];
    const chat = await newPage(browser);
    try {
      await chat.page.goto(`${demo.telegram}/chat/${TELEGRAM_CHAT}`);
      const message = chat.page.locator('.msg.bot', { hasText: `/posts/${flow.telegramApproved}` });
      await message.getByRole('button', { name: /Approve/ }).click();
      await eventually('the bot notes the approval', async () => {
        await chat.page.reload();
        return /Approved by Robin Harbour in Telegram/.test(await message.innerText());
      });
      await screenshot(chat.page, 'telegram-fake-chat-approved');
    } finally {
      await chat.context.close();
    }
    await page.goto(ws(`/posts/${flow.telegramApproved}`));
    await eventually('the post shows the Telegram approval', async () => {
      await page.reload();
      const approvals = page.locator('section', { has: page.getByRole('heading', { name: 'Approvals' }) });
      return /via telegram[\s\S]*in force/i.test(await approvals.innerText());
    });
    assert.match(await page.locator('h1 .pill').innerText(), /approved/i);
  });

  // The demo's TikTok app is not audited, so TikTok posts are private (SELF_ONLY) and TikTok
  // gives no public link for them, as the real one does: the page says so instead of a link.
  const LINKED = ['Instagram', 'LinkedIn'];

  /**
   * Publishes an approved post now, waits until every network says published, and returns the
   * "See it on …" permalinks of its page, per network.
   */
  async function publishAndCollectPermalinks(postId, label) {
    await page.goto(ws(`/posts/${postId}`));
    await page.getByRole('button', { name: 'Publish now' }).click();
    await page.getByText('Publishing now.').waitFor();
    const publishing = page.locator('#publishing');
    const links = await eventually(
      `${label}: published on the three networks`,
      async () => {
        await page.reload();
        const rows = await publishing.locator('li').allInnerTexts();
        const text = rows.join('\n');
        if (/failed|unconfirmed/i.test(text)) throw new Fatal(`publishing went wrong: ${text}`);
        if (rows.length !== NETWORKS.length || !rows.every((r) => /\bpublished\b/.test(r))) return null;
        if (!/published/i.test(await page.locator('h1 .pill').innerText())) return null;
        return Object.fromEntries(
          await publishing
            .getByRole('link', { name: /^See it on / })
            .evaluateAll((as) => as.map((a) => [a.textContent.replace('See it on ', '').trim(), a.href])),
        );
      },
      { withinMs: 90_000, everyMs: 1_000 },
    );
    const tiktok = await publishing.locator('li', { hasText: 'TikTok' }).innerText();
    assert.match(tiktok, /TikTok gave no public link for it \(a private post has none\)/, tiktok);
    assert.deepEqual(Object.keys(links).sort(), [...LINKED].sort(), `permalinks shown: ${JSON.stringify(links)}`);
    await screenshot(page, `post-published-${label}`);
    return links;
  }

  /** Opens each permalink: the fake network's own page of the post, showing its caption. */
  async function checkPermalinks(postId, links, label) {
    await page.goto(ws(`/posts/${postId}`));
    const origins = { Instagram: demo.instagram, LinkedIn: demo.linkedin };
    for (const network of LINKED) {
      const url = links[network];
      assert.ok(url.startsWith(origins[network]), `${label}: the ${network} permalink ${url} is on the fake`);
      const caption = await page.getByLabel(`${network} caption`).inputValue();
      // The caption's first line, without its emoji.
      const firstLine = caption.split('\n')[0].replace(/[\p{So}\p{Sk}\p{Mn}\p{Cf}]/gu, '').trim();
      assert.ok(firstLine.length >= 5, `${label}: a caption to look for: ${caption}`);
      const view = await newPage(browser);
      try {
        const res = await view.page.goto(url);
        assert.equal(res.status(), 200, `${label}: ${url} answers`);
        const body = await view.page.locator('body').innerText();
        assert.ok(body.includes(firstLine), `${label}: ${url} shows the caption ("${firstLine}…"): ${body.slice(0, 300)}`);
        await screenshot(view.page, `permalink-${label}-${network.toLowerCase()}`);
      } finally {
        await view.context.close();
      }
    }
  }

  step('the draft approved on the web is published to the three fakes, its page linking to the posts on Instagram and LinkedIn', [keyboard], async () => {
    const links = await publishAndCollectPermalinks(flow.webApproved, 'web-approved');
    await checkPermalinks(flow.webApproved, links, 'web-approved');
  });

  step('the draft approved in Telegram is published to the three fakes, its page linking to the posts on Instagram and LinkedIn', [telegramApprove], async () => {
    const links = await publishAndCollectPermalinks(flow.telegramApproved, 'telegram-approved');
    await checkPermalinks(flow.telegramApproved, links, 'telegram-approved');
  });

  step('after the whole flow the browser holds only essential cookies, no page logged an error or answered 5xx, and nothing reached beyond this machine', [banner, signUp], async () => {
    assertOnlyEssentialCookies(await cookieNames(), 'end of the flow');
    assert.deepEqual(flow.pageErrors ?? [], [], 'errors on the pages');
    assert.deepEqual(offsite, [], 'pages that tried to reach beyond this machine');
  });
});
