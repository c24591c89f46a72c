// plotly's widget code, loaded once per page from the dashboard's server (evidence serve)
const base = (document.body && document.body.dataset.baseUrl) || "/voila/";
const bundle = await import(new URL(base + __BUNDLE_PATH__, window.location.href).href);

// plotly's view listens to the model it got in initialize(), not to the one anywidget gives
// each view (whose listeners anywidget removes with the view), so a view taken out of the page
// kept listening; its handler threw on the purged plot and the plot's next view was never
// updated (issue 14). Listeners added while a view renders go to that view's model instead.
export default () => {
  const widget = bundle.default();
  let viewModel = null; // the model of the view being rendered (plotly's render is synchronous)
  return {
    initialize(context) {
      const model = context.model;
      const routed = { ...model, on: (name, callback) => (viewModel || model).on(name, callback) };
      return widget.initialize({ ...context, model: routed });
    },
    render(context) {
      viewModel = context.model;
      try {
        return widget.render(context);
      } finally {
        viewModel = null;
      }
    },
  };
};
