// A plot (evidence.app.widgets.PlotView): the kernel's figure (model "figure": data and
// layout; "template": the layout's template, sent apart because it rarely changes; "config")
// drawn with Plotly.react on every change, so an update draws exactly what a fresh page draws.
// plotly.js is loaded once per page: under `evidence serve` from the server (the URL the page
// template also preloads, so the browser runs it once); plotly's bundle sets window.Plotly,
// which the Download menu uses too. A click on a point is sent to the kernel.
const BUNDLE = __BUNDLE_PATH__;

async function plotly() {
  if (!window.Plotly && BUNDLE) {
    const base = (document.body && document.body.dataset.baseUrl) || "/voila/";
    await import(new URL(base + BUNDLE, window.location.href).href);
  }
  return window.Plotly;
}

// Only what JSON can carry and the kernel can check: plain values, arrays of them.
function plain(value) {
  if (value === undefined) return null;
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return value;
  if (Array.isArray(value)) return value.map(plain);
  return null;
}

async function render({ model, el }) {
  const Plotly = await plotly();
  const gd = document.createElement("div");
  gd.className = "ev-plot";
  el.appendChild(gd);
  let queue = Promise.resolve();
  let listening = false;
  const click = (event) => {
    const p = event && event.points && event.points[0];
    if (!p || !Number.isInteger(p.curveNumber) || !Number.isInteger(p.pointNumber)) return;
    model.send({
      click: { curve: p.curveNumber, point: p.pointNumber, customdata: plain(p.customdata) },
    });
  };
  // plotly.js compares layout.template and layout.meta by identity: a new object of either
  // makes Plotly.react redraw the whole plot. Unchanged, they are handed over as the same
  // objects as last time, so a change that leaves the data as it was (layout.datarevision)
  // redraws only what changed (benchmarks/bench_redraw.py --keep).
  let sentTemplate = null;
  let template = null;
  let meta = { json: undefined, value: undefined };
  const draw = () => {
    // Copies: plotly writes computed values (ranges, uids) into what it is given, and the
    // model's values must stay what the kernel sent.
    const fig = structuredClone(model.get("figure") || {});
    const layout = fig.layout || {};
    const current = model.get("template");
    if (current !== sentTemplate) {
      sentTemplate = current;
      template = current && Object.keys(current).length ? structuredClone(current) : null;
    }
    if (template) layout.template = template;
    const metaJson = JSON.stringify(layout.meta);
    if (metaJson === meta.json) layout.meta = meta.value;
    else meta = { json: metaJson, value: layout.meta };
    const config = structuredClone(model.get("config") || {});
    // plotly.js redraws from scratch (newPlot, then react) when the config differs from the
    // last; the modebar reads its file name from the plot's context only when clicked, so a
    // new name goes there and alone never costs a redraw (the file name is not drawn).
    const name = config.toImageButtonOptions && config.toImageButtonOptions.filename;
    const context = gd._context;
    if (name !== undefined && context && context.toImageButtonOptions) {
      context.toImageButtonOptions = { ...context.toImageButtonOptions, filename: name };
    }
    queue = queue
      .then(() => Plotly.react(gd, fig.data || [], layout, config))
      .then(() => {
        if (!listening && gd.on) {
          gd.on("plotly_click", click);
          listening = true;
        }
      })
      .catch((error) => console.error("evidence plot:", error));
    return queue;
  };
  // One message may change several of figure, template and config (PlotView.draw sends
  // them together): each fires its event, and all of them make one draw.
  let pending = null;
  const redraw = () => {
    if (!pending) {
      pending = Promise.resolve().then(() => {
        pending = null;
        return draw();
      });
    }
    return pending;
  };
  model.on("change:figure", redraw);
  model.on("change:template", redraw);
  model.on("change:config", redraw);
  await draw();
  return () => {
    model.off("change:figure", redraw);
    model.off("change:template", redraw);
    model.off("change:config", redraw);
    Plotly.purge(gd);
  };
}

export default { render };
