"""What the browser benchmarks share: Debian's chromium (never ``playwright install``), its
flags, and the in-page timing of one control change."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: For many pages at once: keep timers and rendering of pages that are not in front running.
BACKGROUND_ARGS = [
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]

#: ``page.evaluate(JS_CHANGE, [control, option, expect, plot, prefix, limit_ms])``: pick the
#: option of the control's <select> whose text is ``option`` (or starts with it, ``prefix``),
#: and return the milliseconds until the plot's title shows ``expect`` and a frame is painted.
JS_CHANGE = """async ([selector, label, expect, plot, prefix, limitMs]) => {
  const select = document.querySelector(selector + ' select');
  const gd = document.querySelector(plot + ' .js-plotly-plot');
  const norm = (s) => s.replace(/\\u00a0/g, ' ').trim();
  const index = [...select.options].findIndex(
    (o) => (prefix ? norm(o.text).startsWith(label) : norm(o.text) === label));
  if (index < 0) throw new Error('no option ' + label);
  const drawn = () => {
    const title = gd.querySelector('.gtitle');
    return title && title.textContent.includes(expect);
  };
  const t0 = performance.now();
  select.selectedIndex = index;
  select.dispatchEvent(new Event('change', { bubbles: true }));
  await new Promise((resolve, reject) => {
    const limit = t0 + limitMs;
    const check = () => {
      if (drawn()) resolve();
      else if (performance.now() > limit) reject(new Error('no update: ' + expect));
      else requestAnimationFrame(check);
    };
    check();
  });
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  return performance.now() - t0;
}"""
