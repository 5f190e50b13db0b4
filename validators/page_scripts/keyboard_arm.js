// The body of a function run with `RS` in scope and `arg` = the selector of a native control (see keyboard_keys.py).
if (!window.__runshotGuard) {
  window.__runshotGuard = true;
  window.addEventListener('click', (e) => {
    const t = window.__runshotTarget;
    if (t && (e.target === t || t.contains(e.target))) {
      window.__runshotHit = true;
      e.stopImmediatePropagation();
      e.preventDefault();
    }
  }, true);
  const cancel = Event.prototype.preventDefault;
  Event.prototype.preventDefault = function () {
    if (window.__runshotTarget && String(this.type).startsWith('key')) window.__runshotCancelled = true;
    return cancel.call(this);
  };
  for (const type of ['keydown', 'keypress', 'keyup']) {
    window.addEventListener(type, (e) => { if (e.defaultPrevented && window.__runshotTarget) window.__runshotCancelled = true; });
  }
}
const el = document.querySelector(arg);
window.__runshotTarget = el;
window.__runshotHit = false;
window.__runshotCancelled = false;
if (!el) return 'gone';
// What the platform does not activate is not a page's fault: a checked radio, a disabled control.
if (el.matches(':disabled') || (el.localName === 'input' && el.type === 'radio' && el.checked)) return 'skip';
el.focus();
if (RS.active() !== el) return 'gone';
// A key is judged by its effect on the control: the control itself or what it controls changed (aria-expanded,
// a menu shown), or focus moved on. A change elsewhere (a page-wide shortcut started a timer) is not its effect.
if (window.__runshotEffect) window.__runshotEffect.stop();
const effect = {changed: false, el, url: location.href};
const owned = ['aria-controls', 'aria-owns'].flatMap((a) => (el.getAttribute(a) || '').split(/\s+/))
  .filter(Boolean).map((id) => document.getElementById(id)).filter(Boolean);
const mine = (n) => n && (el.contains(n) || owned.some((o) => o.contains(n)));
const mo = new MutationObserver((records) => {
  if (records.some((m) => mine(m.target))) effect.changed = true;
});
mo.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
effect.stop = () => mo.disconnect();
window.__runshotEffect = effect;
return 'ok';
