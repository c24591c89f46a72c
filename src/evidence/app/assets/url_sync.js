// The UrlSync widget (evidence.app.widgets.UrlSync): address bar, the link to this view with
// a copy button, plot re-measure, study and record links.
function render({ model, el }) {
  // The link: the full address of this view (the kernel knows only the query string).
  el.classList.add("ev-link");
  const label = document.createElement("span");
  label.className = "ev-muted";
  label.textContent = "Link to this view:";
  const field = document.createElement("input");
  field.type = "text";
  field.readOnly = true;
  field.className = "ev-link-url";
  field.setAttribute("aria-label", "link to this view");
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "ev-copy-link";
  copy.textContent = "Copy link";
  const done = document.createElement("span");
  done.className = "ev-copied";
  done.setAttribute("role", "status");
  el.append(label, field, copy, done);
  const address = () => {
    const url = new URL(window.location.href);
    url.hash = "";
    const query = model.get("query");
    url.search = query ? "?" + query : "";
    return url.href;
  };
  const show = () => { field.value = address(); };
  copy.addEventListener("click", async () => {
    show();
    try {
      await navigator.clipboard.writeText(field.value);
    } catch (e) {  // no clipboard API (an insecure context): the old way
      field.select();
      document.execCommand("copy");
    }
    done.textContent = "copied";
    setTimeout(() => { done.textContent = ""; }, 2500);
  });
  field.addEventListener("focus", () => field.select());
  const apply = () => {
    // Only on a Voila page: never rewrite the address of JupyterLab or another host page.
    if (!document.body || document.body.dataset.voila !== "voila") return;
    const query = model.get("query");
    const url = new URL(window.location.href);
    url.search = query ? "?" + query : "";
    if (url.href !== window.location.href) window.history.replaceState(null, "", url.href);
  };
  // The address a quarter second later, when the new plot and its texts are on screen:
  // history.replaceState usually takes chromium under a millisecond but at times blocks the
  // page for 8-26 ms (measured in the dashboard's page), which held back the frames that
  // show a control's change. The latest query is applied; the link field shows it at once.
  let later = null;
  const applyLater = () => {
    if (later) return;
    later = setTimeout(() => { later = null; apply(); }, 250);
  };
  model.on("change:query", () => { applyLater(); show(); });
  apply();
  show();
  // A plot drawn while its tab was still being laid out gets plotly's default width; a window
  // resize event makes every responsive plot re-measure its container.
  const nudge = () => {
    for (const ms of [40, 300]) setTimeout(() => window.dispatchEvent(new Event("resize")), ms);
  };
  model.on("change:resize", nudge);
  setTimeout(nudge, 200);  // and once the first plots are on the page
  // A link to a study's record in this app (data-ev-study, written by the kernel) opens the
  // Studies view in place; the kernel validates the citekey. Other clicks, and a click with a
  // modifier key (new tab: the href is a link to the same view), are left to the browser.
  // A link to a study arm's record (data-ev-record, with its outcome and effect) opens it
  // beside the forest plot the same way.
  const open = (event) => {
    const link = event.target.closest
      ? event.target.closest("a[data-ev-study], a[data-ev-record]") : null;
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const app = el.closest(".ev-app");
    if (!app || !app.contains(link)) return;  // another app on the same page
    event.preventDefault();
    const d = link.dataset;
    model.send(d.evRecord !== undefined
      ? { open_record: d.evRecord, outcome: d.evOutcome, effect: d.evEffect }
      : { open_study: d.evStudy });
  };
  document.addEventListener("click", open);
  return () => document.removeEventListener("click", open);
}
export default { render };
