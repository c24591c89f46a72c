// The page's own script, instead of Voila's inline snippets: the content security policy of
// evidence serve allows scripts from the server only (evidence.serving.security). Each
// <script src="evidence-page.js" data-step="..."> element runs it once (cached after the
// first); data-step says what to do: "setup" (Voila's helper functions, from its
// voila_setup.macro.html.j2), "cell" (progress while a cell runs), "finish" (show the cells).
(function () {
  const step = document.currentScript ? document.currentScript.dataset : {};
  if (step.step === "setup") {
    window.voila_heartbeat = function () {
      console.log("Ok, voila is still executing...");
    };
    window.update_loading_text = function (cellIndex, cellCount, text) {
      const spinner = document.getElementById("loading");
      if (spinner && spinner.style.display === "none") {
        spinner.style.display = "flex";
      }
      const el = document.getElementById("loading_text");
      if (el) {
        el.textContent = text ?? `Executing ${cellIndex} of ${cellCount}`;
      }
    };
    window.display_cells = function () {
      if (!window.themeLoaded) {
        window.cellLoaded = true;
        return;
      }
      const loading = document.getElementById("loading");
      if (loading) {
        loading.parentNode.removeChild(loading);
      }
      const cells = document.getElementById("rendered_cells");
      if (cells) {
        cells.style.display = "";
      }
    };
    window.voila_process = window.update_loading_text;
    window.voila_finish = window.display_cells;
  } else if (step.step === "cell") {
    window.voila_process(Number(step.cell), Number(step.count));
  } else if (step.step === "finish") {
    window.voila_finish();
  }
})();
