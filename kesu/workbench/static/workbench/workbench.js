/* Workbench helpers, no build step. One-click insert of a script (R-CM-1) into its text box
   at the cursor; the synthetic "input" event makes htmx run the phrase check (R-CM-2) on the
   inserted text as if it had been typed. */
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-insert]");
  if (!button) return;
  var box = document.getElementById(button.getAttribute("data-insert"));
  if (!box) return;
  var text = button.getAttribute("data-text");
  var start = typeof box.selectionStart === "number" ? box.selectionStart : box.value.length;
  var end = typeof box.selectionEnd === "number" ? box.selectionEnd : box.value.length;
  box.value = box.value.slice(0, start) + text + box.value.slice(end);
  box.focus();
  box.setSelectionRange(start + text.length, start + text.length);
  box.dispatchEvent(new Event("input", { bubbles: true }));
});
