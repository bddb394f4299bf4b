// Drives Debian's Chromium (headless, through playwright-core) over labelrun's
// dashboard while real jobs run. Run by tests/app/dashboard_browser_test.cpp,
// which starts the binary and the jobs and checks their records afterwards.
//
// Environment: BASE_URL, TOKEN (the dashboard token), LIVE_JOB (a job printing
// metrics for a while), CANCEL_JOB (a long job to cancel), REPO (their
// repository), OUT_DIR (screenshots), CHROMIUM (default /usr/bin/chromium);
// COMMENT_MD, when set, a file of comment markdown to render (with marked, in
// GitHub's comment style) and screenshot as comment.png.
// Prints "ok <check>" per check; exits non-zero at the first that fails.
'use strict';
const {chromium} = require('playwright-core');
const fs = require('fs');
const path = require('path');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env('BASE_URL');
const token = env('TOKEN');
const liveJob = env('LIVE_JOB');
const cancelJob = env('CANCEL_JOB');
const repo = env('REPO');
const outDir = env('OUT_DIR');

function check(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
  console.log(`ok ${what}`);
}

async function main() {
  fs.mkdirSync(outDir, {recursive: true});
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({viewport: {width: 1200, height: 1000}});
  const page = await context.newPage();
  const cspErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') cspErrors.push(m.text());
  });
  try {
    if (process.env.ONLY_COMMENT) {
      await renderComment(context, env('COMMENT_MD'));
      return;
    }
    // Not signed in: the list refuses.
    let r = await page.goto(`${base}/jobs`);
    check(r.status() === 401, 'the list without a sign-in is 401');

    // A wrong token: the form again, with no cookie.
    await page.goto(`${base}/login?next=/jobs`);
    await page.fill('input[name=user]', 'carol');
    await page.fill('input[name=token]', token + 'x');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    check((await page.textContent('#login-error')).includes('not the dashboard token'),
          'a wrong token is refused on the form');
    check((await context.cookies()).length === 0, 'a wrong token sets no cookie');

    // The right one: the list, and an HttpOnly, SameSite=Strict cookie.
    await page.fill('input[name=user]', 'carol');
    await page.fill('input[name=token]', token);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    check(new URL(page.url()).pathname === '/jobs', 'signing in lands on the list');
    const cookies = await context.cookies();
    check(cookies.length === 1 && cookies[0].httpOnly && cookies[0].sameSite === 'Strict',
          'the session cookie is HttpOnly and SameSite=Strict');
    check((await page.evaluate(() => document.cookie)) === '', 'scripts cannot read the cookie');
    check((await page.textContent('#user')) === 'carol', 'the list says who is signed in');
    check((await page.content()).includes(liveJob), 'the list shows the running job');

    // Filters: a state link, then the repository form, each keeping the other.
    await Promise.all([page.waitForNavigation(), page.click('nav a:text-is("cancelled")')]);
    check(page.url().endsWith('/jobs?state=cancelled'), 'the state filter link opens');
    check(!(await page.content()).includes(liveJob), 'the state filter hides other states');
    await Promise.all([page.waitForNavigation(), page.click('nav a:text-is("all")')]);
    await page.fill('input[name=repo]', repo);
    await Promise.all([page.waitForNavigation(), page.click('form.filter button')]);
    check((await page.content()).includes(liveJob), 'the repository filter shows its jobs');
    await Promise.all([page.waitForNavigation(), page.click('nav a:text-is("running")')]);
    const filtered = new URL(page.url());
    check(filtered.searchParams.get('repo') === repo &&
              filtered.searchParams.get('state') === 'running',
          'a state link keeps the repository filter');
    await page.goto(`${base}/jobs?repo=nobody%2Fnothing`);
    check(!(await page.content()).includes(liveJob), 'another repository shows none of them');

    // The job page updates itself while the job runs.
    await page.goto(`${base}/jobs/${liveJob}`);
    const liveRequests = [];
    page.on('request', (req) => {
      if (req.url().includes('/live.json')) liveRequests.push(Date.now());
    });
    const firstLog = await page.textContent('#log');
    const firstPoints = await page.textContent('#metrics');
    await page.waitForFunction(
        (first) => document.getElementById('log').textContent !== first, firstLog,
        {timeout: 30000});
    check(true, 'the log grows without a reload');
    await page.waitForFunction(
        (first) => document.getElementById('metrics').textContent !== first, firstPoints,
        {timeout: 30000});
    check((await page.textContent('#metrics')).includes('loss'),
          'the metrics table and chart update without a reload');
    check((await page.$$('#metrics svg')).length >= 1, 'the chart is drawn');
    const duration1 = await page.textContent('#duration');
    await page.waitForFunction(
        (d) => (document.getElementById('duration') || {}).textContent !== d, duration1,
        {timeout: 15000});
    check(true, 'the duration counts up');
    await page.screenshot({path: path.join(outDir, 'job-page-running.png'), fullPage: true});
    await page.waitForFunction(
        () => document.querySelector('#badge .state').textContent === 'succeeded',
        null, {timeout: 90000});
    check(true, 'the badge turns to succeeded without a reload');
    check((await page.textContent('#log')).includes('finished'), 'the log shows the end');
    check(await page.isVisible('#actions form#retry'), 'Retry shows once the job ended');
    const polls = liveRequests.length;
    await page.waitForTimeout(7000);
    check(liveRequests.length === polls, 'polling stops when the job ends');
    await page.screenshot({path: path.join(outDir, 'job-page.png'), fullPage: true});

    // Cancel: the button on the other job's page.
    await page.goto(`${base}/jobs/${cancelJob}`);
    check(await page.isVisible('#actions form#cancel'), 'a running job has a Cancel button');
    await Promise.all([page.waitForNavigation(), page.click('#actions form#cancel button')]);
    check(new URL(page.url()).pathname === `/jobs/${cancelJob}`,
          'cancelling comes back to the job page');
    await page.waitForFunction(
        () => document.querySelector('#badge .state').textContent === 'cancelled', null,
        {timeout: 60000}).catch(async () => {
      await page.reload();
    });
    check((await page.textContent('#badge')).includes('cancelled'), 'the job shows cancelled');
    check((await page.textContent('#status')).includes('cancelled by carol'),
          'the page says who cancelled it');
    await page.screenshot({path: path.join(outDir, 'job-page-cancelled.png'), fullPage: true});

    // Logging out ends the session.
    await Promise.all([page.waitForNavigation(), page.click('header form button')]);
    r = await page.goto(`${base}/jobs`);
    check(r.status() === 401, 'after logging out the list is 401 again');
    check(cspErrors.filter((e) => e.includes('Content Security Policy')).length === 0,
          'nothing broke the page policy');
  } finally {
    await browser.close();
  }
}

// The comment as GitHub shows it: markdown to HTML with marked, GitHub's fonts and
// table style; the Mermaid block stays a code block (no network for Mermaid here).
async function renderComment(context, file) {
  const {marked} = require('marked');
  const markdown = fs.readFileSync(file, 'utf8');
  const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{font:14px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;margin:0;background:#fff}
.comment{border:1px solid #d0d7de;border-radius:6px;margin:16px;max-width:880px}
.head{background:#f6f8fa;border-bottom:1px solid #d0d7de;padding:8px 16px;border-radius:6px 6px 0 0}
.body{padding:16px}
table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:6px 13px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{background:#f6f8fa;padding:16px;border-radius:6px;overflow:auto}
details{margin:8px 0}
</style></head><body><div class="comment"><div class="head"><strong>labelrun</strong> <span>bot</span> commented</div>
<div class="body">${marked.parse(markdown)}</div></div></body></html>`;
  const page = await context.newPage();
  await page.setContent(html);
  await page.screenshot({path: path.join(outDir, 'comment.png'), fullPage: true});
  check(true, 'the comment is rendered');
}

main().then(() => console.log('all checks passed'), (err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
