// The Download menu beside a plot (evidence.app.widgets.DownloadMenu).
// Items come from the kernel (model "items"): "svg" and "png" are drawn here from the plot of
// the same pane, off-screen (Plotly.downloadImage renders a copy in a hidden element: the plot
// on screen never changes); "file" items are made by the kernel, which answers a
// {download: key} message with {key, content, ext, mime}. File names: stem_YYYY-MM-DD.ext.

const WIDTHS = [1280, 1600, 1920, 2400];
const SCALES = [1, 2, 3];

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function save(blob, filename) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function option(select, value, label, selected) {
  const o = document.createElement("option");
  o.value = String(value);
  o.textContent = label;
  o.selected = selected;
  select.appendChild(o);
}

function render({ model, el }) {
  el.classList.add("ev-download");
  const menu = document.createElement("details");
  menu.className = "ev-download-menu";
  const summary = document.createElement("summary");
  summary.textContent = "Download";
  summary.title = "Download this plot or its data";
  menu.appendChild(summary);
  const panel = document.createElement("div");
  panel.className = "ev-download-panel";
  menu.appendChild(panel);
  el.appendChild(menu);

  // Image size: the width the copy is drawn at (the plot's own height), and a pixel scale.
  const size = document.createElement("div");
  size.className = "ev-download-size";
  const width = document.createElement("select");
  width.className = "ev-download-width";
  width.setAttribute("aria-label", "image width in pixels");
  for (const w of WIDTHS) option(width, w, `${w} px wide`, w === 1600);
  const scale = document.createElement("select");
  scale.className = "ev-download-scale";
  scale.setAttribute("aria-label", "PNG scale");
  for (const s of SCALES) option(scale, s, `PNG ×${s}`, s === 2);
  size.append(width, scale);

  const plot = () => {
    const pane = el.closest(".ev-figure-pane");
    return pane ? pane.querySelector(".js-plotly-plot") : null;
  };
  const image = (format) => {
    const gd = plot();
    if (!gd || !gd._fullLayout) return;
    const opts = {
      format,
      width: Number(width.value),
      height: gd._fullLayout.height,
      scale: format === "png" ? Number(scale.value) : 1,
      filename: `${model.get("stem")}_${today()}`,
    };
    if (window.Plotly && window.Plotly.downloadImage) {
      window.Plotly.downloadImage(gd, opts);
      return;
    }
    // Without the global: the modebar's camera button with these options for one click.
    const button = gd.querySelector('.modebar-btn[data-title^="Download plot"]');
    if (!button || !gd._context) return;
    const before = gd._context.toImageButtonOptions;
    gd._context.toImageButtonOptions = opts;
    button.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    gd._context.toImageButtonOptions = before;
  };

  const draw = () => {
    panel.replaceChildren();
    for (const item of model.get("items")) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = `ev-download-item ev-download-${item.key}`;
      b.textContent = item.label;
      b.addEventListener("click", () => {
        if (item.kind === "svg" || item.kind === "png") image(item.kind);
        else model.send({ download: item.key });
        menu.open = false;
      });
      panel.appendChild(b);
    }
    panel.appendChild(size);
  };
  model.on("change:items", draw);
  draw();

  const answer = (msg) => {
    if (!msg || typeof msg.content !== "string" || typeof msg.ext !== "string") return;
    // Binary files (a zip) come base64-encoded; text as it is.
    const body = msg.encoding === "base64"
      ? Uint8Array.from(atob(msg.content), (c) => c.charCodeAt(0))
      : msg.content;
    const blob = new Blob([body], { type: msg.mime || "text/plain" });
    save(blob, `${model.get("stem")}_${today()}.${msg.ext}`);
  };
  model.on("msg:custom", answer);
  // A click elsewhere closes the menu.
  const close = (event) => { if (!menu.contains(event.target)) menu.open = false; };
  document.addEventListener("click", close);
  return () => document.removeEventListener("click", close);
}

export default { render };
