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
#: An outcome's option also says what it holds ("Albumin: 2 studies"): "Albumin" picks it.
JS_CHANGE = """async ([selector, label, expect, plot, prefix, limitMs]) => {
  const select = document.querySelector(selector + ' select');
  const gd = document.querySelector(plot + ' .js-plotly-plot');
  const norm = (s) => s.replace(/\\u00a0/g, ' ').trim();
  const index = [...select.options].findIndex(
    (o) => (prefix ? norm(o.text).startsWith(label)
      : norm(o.text) === label || norm(o.text).startsWith(label + ': ')));
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

#: ``page.evaluate(JS_CONTROL, [control, kind, value, plot, limit_ms])``: change one control
#: the way a person does and return the milliseconds from the change until the plot's DOM
#: changed (a MutationObserver on the plot) and the next frame was painted; ``null`` when the
#: plot did not change within ``limit_ms``. ``kind``: "select" (``value`` is the option's text,
#: or its start before ": ", as the outcome menu's "Albumin: 2 studies"),
#: "checkbox" (a click; a menu in its place: its first two options in turn), "slider"
#: (``value`` is "ArrowRight" or "ArrowLeft" on the handle: one step, reported on release like
#: a drag). Both ends are also in-page performance marks
#: (``ev-change:<control>``, measure ``ev-latency:<control>``) for a trace.
JS_CONTROL = """async ([selector, kind, value, plot, limitMs]) => {
  const gd = document.querySelector(plot + ' .js-plotly-plot');
  if (!gd) throw new Error('no plot ' + plot);
  const norm = (s) => s.replace(/\\u00a0/g, ' ').trim();
  let act;
  if (kind === 'select') {
    const select = document.querySelector(selector + ' select');
    const index = [...select.options].findIndex(
      (o) => norm(o.text) === value || norm(o.text).startsWith(value + ': '));
    if (index < 0) throw new Error('no option ' + value + ' in ' + selector);
    if (select.selectedIndex === index) return -1;
    act = () => {
      select.selectedIndex = index;
      select.dispatchEvent(new Event('change', { bubbles: true }));
    };
  } else if (kind === 'checkbox') {
    const box = document.querySelector(selector + ' input[type=checkbox]');
    const select = box ? null : document.querySelector(selector + ' select');
    if (box) act = () => box.click();
    else if (select) {  // the control became a menu: its first two options take turns
      const index = select.selectedIndex === 0 ? 1 : 0;
      act = () => {
        select.selectedIndex = index;
        select.dispatchEvent(new Event('change', { bubbles: true }));
      };
    } else throw new Error('no checkbox or menu in ' + selector);
  } else if (kind === 'slider') {
    const handle = document.querySelector(selector + ' .noUi-handle');
    act = () => {
      handle.dispatchEvent(new KeyboardEvent('keydown', { key: value, bubbles: true }));
      handle.dispatchEvent(new KeyboardEvent('keyup', { key: value, bubbles: true }));
    };
  } else throw new Error('kind ' + kind);
  let changed = false;
  const observer = new MutationObserver(() => { changed = true; });
  observer.observe(gd, { subtree: true, childList: true, attributes: true, characterData: true });
  const name = 'ev-change:' + selector;
  performance.mark(name);
  const t0 = performance.now();
  act();
  const ok = await new Promise((resolve) => {
    const limit = t0 + limitMs;
    const check = () => {
      if (changed) resolve(true);
      else if (performance.now() > limit) resolve(false);
      else requestAnimationFrame(check);
    };
    check();
  });
  observer.disconnect();
  if (!ok) return null;
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const ms = performance.now() - t0;
  performance.measure('ev-latency:' + selector, name);
  return ms;
}"""
