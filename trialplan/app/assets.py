"""The page's own style sheet and script, inlined into the page (nothing is fetched).

Shiny serves its JavaScript and Bootstrap from the installed package; these
few lines add the look of the tables and the handler that puts the library's
error messages next to their fields.
"""

from __future__ import annotations

__all__ = ["CSS", "SCRIPT"]

CSS = """
:root { --tp-accent: var(--bs-primary, #007bc2); --tp-muted: #6c757d; }
body { font-size: 0.93rem; }
.tp-header h1 { font-size: 1.25rem; margin: 0; color: var(--tp-accent); font-weight: 600; }
.tp-header .tp-describe { color: var(--tp-muted); font-size: 0.85rem; }
.bslib-sidebar-layout > .sidebar { background: #f7f9fb; }
.sidebar .accordion-button { font-weight: 600; font-size: 0.92rem; padding: 0.6rem 0.9rem; }
.sidebar .accordion-body { padding: 0.6rem 0.8rem; }
.sidebar .form-label, .sidebar .control-label { font-size: 0.82rem; margin-bottom: 0.15rem;
  color: #34495e; }
.sidebar .form-control, .sidebar .form-select { font-size: 0.85rem; padding: 0.25rem 0.5rem; }
.sidebar .shiny-input-container { margin-bottom: 0.55rem; width: 100%; }
.tp-brand { font-weight: 700; color: var(--tp-accent); letter-spacing: 0.02em; }
.tp-row { display: grid; gap: 0.5rem; grid-template-columns: repeat(var(--tp-cols, 2), 1fr); }
.tp-factor { border-left: 3px solid var(--tp-accent); padding-left: 0.6rem; margin-bottom: 0.7rem; }
.tp-factor-title { font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.04em;
  color: var(--tp-muted); margin-bottom: 0.2rem; }
table.tp-cells { width: 100%; font-size: 0.82rem; }
table.tp-cells th { font-weight: 600; color: #34495e; font-size: 0.78rem;
  padding: 0 0.2rem 0.2rem; }
table.tp-cells td { padding: 0.1rem 0.2rem; vertical-align: top; }
table.tp-cells .shiny-input-container { margin-bottom: 0.1rem; }
table.tp-cells td.tp-cell-name { padding-top: 0.35rem; font-size: 0.8rem; min-width: 7.5rem; }
.tp-table { font-size: 0.86rem; margin-bottom: 0.4rem; }
.tp-table th { font-weight: 600; color: #34495e; white-space: nowrap; }
.tp-table td { vertical-align: middle; }
.tp-compact { font-size: 0.8rem; }
.tp-hyp-label { font-weight: 500; }
.tp-hyp-code code { font-size: 0.74rem; color: var(--tp-muted); background: none; padding: 0; }
.tp-primary-row { background: #eef4fb; }
.tp-power { display: flex; align-items: center; justify-content: flex-end; gap: 0.45rem; }
.tp-power-value { min-width: 3.6rem; text-align: right; font-variant-numeric: tabular-nums; }
.tp-power-bar { display: inline-block; width: 70px; height: 8px; background: #e3e8ee;
  border-radius: 4px; overflow: hidden; }
.tp-power-fill { display: block; height: 100%; background: var(--tp-accent); }
.tp-figure img { width: 100%; height: auto; }
.tp-figure { text-align: center; }
.tp-note { font-size: 0.8rem; color: var(--tp-muted); }
.tp-interaction caption, #implied-cells caption { font-size: 0.78rem; font-weight: 600;
  color: #34495e; padding-bottom: 0.2rem; }
.bslib-value-box .value-box-area { padding: 0.7rem 1rem !important; }
.bslib-value-box .value-box-title { font-size: 0.8rem; margin-bottom: 0.1rem; }
.bslib-value-box .value-box-value { font-size: 1.7rem; font-weight: 600; margin-bottom: 0.1rem; }
.bslib-value-box .tp-box-note { font-size: 0.8rem; margin: 0; opacity: 0.9; }
.tp-updating { font-weight: 400; color: var(--tp-muted); }
.tp-field-error { display: block; font-size: 0.76rem; margin-top: 0.15rem; }
.tp-downloads .btn { margin: 0 0.4rem 0.4rem 0; }
.tp-command { font-size: 0.8rem; background: #f3f5f8; padding: 0.35rem 0.6rem;
  border-radius: 4px; display: inline-block; }
.tp-progress { height: 1.1rem; }
"""

# Puts each field's error message under the field (Bootstrap's invalid style), and
# clears the messages of fields that became valid.
SCRIPT = """
(function () {
  function container(el) {
    return el.closest('.shiny-input-container') || el.parentElement;
  }
  function clear() {
    document.querySelectorAll('.tp-field-error').forEach(function (node) { node.remove(); });
    document.querySelectorAll('.is-invalid').forEach(function (node) {
      node.classList.remove('is-invalid');
    });
  }
  function show(errors) {
    clear();
    Object.keys(errors).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { return; }
      var box = container(el);
      el.classList.add('is-invalid');
      var input = box.querySelector('input, select, textarea');
      if (input) { input.classList.add('is-invalid'); }
      var message = document.createElement('div');
      message.className = 'invalid-feedback tp-field-error';
      message.setAttribute('data-field', id);
      message.textContent = errors[id];
      box.appendChild(message);
      var panel = box.closest('.accordion-collapse');
      if (panel && !panel.classList.contains('show')) {
        var button = document.querySelector('[data-bs-target="#' + panel.id + '"]');
        if (button) { button.click(); }
      }
    });
  }
  function install() {
    Shiny.addCustomMessageHandler('tp-field-errors', show);
  }
  if (window.Shiny && Shiny.addCustomMessageHandler) { install(); }
  else { document.addEventListener('shiny:connected', install, { once: true }); }
})();
"""
