// plotly's widget code, loaded once per page from the dashboard's server (evidence serve)
const base = (document.body && document.body.dataset.baseUrl) || "/voila/";
const bundle = await import(new URL(base + __BUNDLE_PATH__, window.location.href).href);
export default bundle.default;
