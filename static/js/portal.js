// Small progressive enhancements shared by every page. No inline scripts: the CSP forbids them.
document.addEventListener("DOMContentLoaded", () => {
  document.documentElement.classList.add("js");
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  // Search results: the arrow keys move between the result links, as in a list box.
  for (const list of document.querySelectorAll("[data-arrow-nav]")) {
    list.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      const links = [...list.querySelectorAll("a")];
      const index = links.indexOf(document.activeElement);
      const next = event.key === "ArrowDown" ? index + 1 : index - 1;
      if (index >= 0 && next >= 0 && next < links.length) {
        event.preventDefault();
        links[next].focus();
      }
    });
  }
  // From the search field, ArrowDown enters the results.
  const field = document.getElementById("search-page-q");
  const firstResult = document.querySelector("[data-arrow-nav] a");
  if (field && firstResult) {
    field.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        firstResult.focus();
      }
    });
  }
  // "Copy address": the field stays selectable for browsers without the clipboard API.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = button.dataset.copied;
      } catch {
        document.execCommand("copy");
      }
    });
  }
});
