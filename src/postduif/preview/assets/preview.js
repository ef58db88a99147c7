// Reload when the server's build version moves (a source file changed, or the server restarted).
// The view lives in the query string, so the reloaded page shows the same language, tab,
// width and recipient.
(() => {
  const shown = document.body.dataset.version;
  const live = document.getElementById("live");
  async function poll() {
    try {
      const response = await fetch("/_version", { cache: "no-store" });
      const { version } = await response.json();
      if (version !== shown) {
        live.textContent = "reloading";
        location.reload();
        return;
      }
      live.className = "live";
      live.textContent = "live";
    } catch (error) {
      live.className = "live off";  // stopped or restarting: keep asking
      live.textContent = "offline";
    }
    setTimeout(poll, 400);
  }
  setTimeout(poll, 400);
})();
